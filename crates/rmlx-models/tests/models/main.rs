//! rmlx-models' tests: the tiny Llama against Hugging Face transformers (always), BERT's masks,
//! name map and errors on small random models (always), and all-MiniLM-L6-v2 against
//! sentence-transformers when `RMLX_MINILM_DIR` names the checkpoint folder
//! (`tools/reference/fetch_minilm.sh` fetches it; `.ci/run` does).

mod bert;
mod llama;
mod support;
