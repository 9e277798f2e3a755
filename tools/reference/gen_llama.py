"""A small randomly initialised Llama checkpoint and its reference outputs from Hugging Face
`transformers` (PyTorch), for rmlx's `models::llama` tests (crates/rmlx-models/tests/models/main.rs).

Usage: python gen_llama.py
Writes crates/rmlx-models/tests/data/tiny_llama/:
  config.json, model.safetensors  (LlamaForCausalLM.save_pretrained: HF's own names)
  reference.safetensors:
    prompt (int64 [2, 7]): two prompts
    logits (float32 [2, 7, vocab]): the model's logits for them (no cache)
    generated (int64 [2, 12]): greedy continuation, 12 new tokens each, KV cache
      (model.generate(do_sample=False), no end-of-sequence stop)
"""
import pathlib
import numpy as np, torch, transformers
from safetensors.numpy import save_file
from transformers import LlamaConfig, LlamaForCausalLM

def main():
    out = pathlib.Path(__file__).resolve().parents[2] / "crates/rmlx-models/tests/data/tiny_llama"
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                      initializer_range=0.2, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = LlamaForCausalLM(cfg).eval()
    model.save_pretrained(out, safe_serialization=True)
    prompt = torch.tensor([[1, 17, 99, 5, 64, 3, 42], [1, 8, 8, 120, 77, 31, 6]])
    with torch.no_grad():
        logits = model(prompt).logits
        gen = model.generate(prompt, max_new_tokens=12, do_sample=False, eos_token_id=None,
                             pad_token_id=0)
    save_file({"prompt": prompt.numpy().astype(np.int64),
               "logits": logits.numpy().astype(np.float32),
               "generated": gen[:, prompt.shape[1]:].numpy().astype(np.int64)},
              str(out / "reference.safetensors"))
    print("transformers", transformers.__version__, "generated", gen[:, prompt.shape[1]:].tolist())

if __name__ == "__main__":
    main()
