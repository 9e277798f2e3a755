//! The module tree against MLX_SEMANTICS items not covered by the oracle data: traversal order
//! (25, 26), leaf_modules (24), freeze records (45), update_modules (34–39), apply/set_dtype
//! (41, 42), the Transformer idioms (28, 59), repr, summary and path-based freezing.

use crate::support;

use rmlx_core::tree::{tree_flatten, Tree};
use rmlx_core::{Array, Dtype};
use rmlx_nn::{
    Keys, LayerNorm, Linear, Module, ModuleExt, ReLU, Sequential, Transformer, TransformerConfig,
};
use support::{CMember, Custom};

fn lin(i: usize, o: usize) -> Box<dyn Module> {
    Box::new(Linear::new(i, o, true).unwrap())
}

fn names(m: &dyn Module) -> Vec<String> {
    m.named_modules().into_iter().map(|(k, _)| k).collect()
}

fn keys(t: &Tree<Array>) -> Vec<String> {
    tree_flatten(t).into_iter().map(|(k, _)| k).collect()
}

fn arr(n: usize) -> Array {
    Array::from_vec((0..n).map(|i| i as f32).collect(), &[n]).unwrap()
}

#[test]
fn named_modules_order_item_25() {
    let m = Custom {
        members: vec![
            (
                "a".into(),
                CMember::Module(Box::new(Sequential::new(vec![lin(1, 1), lin(1, 1)]))),
            ),
            ("b".into(), CMember::Module(lin(1, 1))),
            (
                "c".into(),
                CMember::Dict(vec![
                    ("x".into(), CMember::Module(lin(1, 1))),
                    (
                        "y".into(),
                        CMember::List(vec![CMember::Module(lin(1, 1)), CMember::Module(lin(1, 1))]),
                    ),
                ]),
            ),
        ],
        state: Default::default(),
    };
    assert_eq!(
        names(&m),
        [
            "",
            "c.y.1",
            "c.y.0",
            "c.x",
            "b",
            "a",
            "a.layers.1",
            "a.layers.0"
        ]
    );
    assert_eq!(m.modules().len(), 8);
}

#[test]
fn sequential_utilities_items_24_26() {
    let m = Sequential::new(vec![
        Box::new(Sequential::new(vec![lin(2, 2)])),
        Box::new(Sequential::new(vec![lin(2, 2), Box::new(ReLU::new())])),
        lin(2, 2),
    ]);
    assert_eq!(
        names(&m),
        [
            "",
            "layers.2",
            "layers.1",
            "layers.1.layers.1",
            "layers.1.layers.0",
            "layers.0",
            "layers.0.layers.0"
        ]
    );
    let classes: Vec<String> = m
        .named_modules()
        .iter()
        .map(|(_, x)| x.class_name().to_string())
        .collect();
    assert_eq!(
        classes,
        [
            "Sequential",
            "Linear",
            "Sequential",
            "ReLU",
            "Linear",
            "Sequential",
            "Linear"
        ]
    );
    let leaves: Vec<String> = tree_flatten(&m.leaf_modules())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        leaves,
        [
            "layers.0.layers.0",
            "layers.1.layers.0",
            "layers.1.layers.1",
            "layers.2"
        ]
    );
    let children: Vec<String> = tree_flatten(&m.children())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(children, ["layers.0", "layers.1", "layers.2"]);
    // parameter-less modules are `{}` in parameters() (item 12)
    let p = m.parameters();
    assert!(p
        .get("layers.1.layers.1")
        .is_some_and(|t| matches!(t, Tree::Dict(d) if d.is_empty())));
    assert!(Sequential::default()
        .parameters()
        .get("layers")
        .is_some_and(|l| matches!(l, Tree::List(v) if v.is_empty())));
}

#[test]
fn freeze_records_own_leaves_item_45_46() {
    let mut m = Custom {
        members: vec![
            ("a".into(), CMember::Array(arr(2))),
            (
                "lst".into(),
                CMember::List(vec![CMember::Array(arr(2)), CMember::Array(arr(3))]),
            ),
            (
                "dct".into(),
                CMember::Dict(vec![
                    ("x".into(), CMember::Array(arr(2))),
                    ("y".into(), CMember::List(vec![CMember::Array(arr(2))])),
                ]),
            ),
            ("sub".into(), CMember::Module(lin(2, 2))),
        ],
        state: Default::default(),
    };
    m.freeze(Keys::All).unwrap();
    let mut root: Vec<String> = m.state().no_grad.iter().cloned().collect();
    root.sort();
    assert_eq!(root, ["a", "dct.x", "dct.y.0", "lst.0", "lst.1"]);
    let t = m.trainable_parameters();
    let expect: Tree<Array> = Tree::Dict(
        [
            (
                "lst".to_string(),
                Tree::List(vec![Tree::empty(), Tree::empty()]),
            ),
            (
                "dct".to_string(),
                Tree::Dict(
                    [
                        ("x".to_string(), Tree::empty()),
                        ("y".to_string(), Tree::List(vec![Tree::empty()])),
                    ]
                    .into_iter()
                    .collect(),
                ),
            ),
            ("sub".to_string(), Tree::empty()),
        ]
        .into_iter()
        .collect(),
    );
    // compare structure (arrays have no PartialEq): map leaves to ()
    let shape = |t: &Tree<Array>| rmlx_core::tree::tree_map(t, |_| ());
    assert_eq!(shape(&t), shape(&expect));
    m.unfreeze("lst").unwrap();
    assert!(keys(&m.trainable_parameters()).is_empty());
    m.unfreeze("lst.0").unwrap();
    assert_eq!(keys(&m.trainable_parameters()), ["lst.0"]);
    m.unfreeze(Keys::All).unwrap();
    assert_eq!(keys(&m.trainable_parameters()).len(), 7);
    // keys frozen before they exist (item 52) and shallow freeze (item 51)
    m.freeze(Keys::All.shallow()).unwrap();
    assert_eq!(keys(&m.trainable_parameters()), ["sub.weight", "sub.bias"]);
}

#[test]
fn keys_api_reads_like_mlx() {
    let mut l = Linear::new(4, 4, true).unwrap();
    l.freeze(Keys::All).unwrap().unfreeze("bias").unwrap();
    assert_eq!(keys(&l.trainable_parameters()), ["bias"]);
    l.unfreeze(["weight", "bias"]).unwrap();
    assert_eq!(keys(&l.trainable_parameters()), ["weight", "bias"]);
    l.freeze(Keys::from("weight").strict().shallow()).unwrap();
    assert_eq!(keys(&l.trainable_parameters()), ["bias"]);
    let e = l
        .freeze(Keys::from(vec!["bias", "zzz"]).strict())
        .err()
        .expect("an error");
    assert_eq!(e.to_string(), "Module doesn't contain member zzz.");
    // nothing changed on the strict error
    assert_eq!(keys(&l.trainable_parameters()), ["bias"]);
}

#[test]
fn update_modules_items_34_39() {
    let mut s = Sequential::new(vec![lin(2, 2), lin(2, 2)]);
    s.freeze(Keys::All).unwrap();
    let new: Tree<Box<dyn Module>> = Tree::Dict(
        [(
            "layers".to_string(),
            Tree::List(vec![Tree::empty(), Tree::Leaf(lin(3, 4))]),
        )]
        .into_iter()
        .collect(),
    );
    s.update_modules(new, true).unwrap();
    let p = s.parameters();
    assert_eq!(
        p.get("layers.1.weight")
            .and_then(Tree::as_leaf)
            .map(|a| a.shape().to_vec()),
        Some(vec![4, 3])
    );
    // the swapped-in module brings its own empty frozen set (item 39)
    assert_eq!(
        keys(&s.trainable_parameters()),
        ["layers.1.weight", "layers.1.bias"]
    );
    let bad: Tree<Box<dyn Module>> = Tree::Dict(
        [("values".to_string(), Tree::Leaf(lin(1, 1)))]
            .into_iter()
            .collect(),
    );
    assert_eq!(
        s.update_modules(bad, true)
            .err()
            .expect("an error")
            .to_string(),
        "Module does not have sub-module named \"values\"."
    );
    let long: Tree<Box<dyn Module>> = Tree::Dict(
        [(
            "layers".to_string(),
            Tree::List(vec![Tree::empty(), Tree::empty(), Tree::Leaf(lin(1, 1))]),
        )]
        .into_iter()
        .collect(),
    );
    assert_eq!(
        s.update_modules(long, true)
            .err()
            .expect("an error")
            .to_string(),
        "List index 2 is out of bounds for destination of length 2."
    );
    // `m.update_modules(m.leaf_modules())`-style `{}` everywhere is a no-op (item 36)
    let empties: Tree<Box<dyn Module>> = Tree::Dict(
        [(
            "layers".to_string(),
            Tree::List(vec![Tree::empty(), Tree::empty()]),
        )]
        .into_iter()
        .collect(),
    );
    s.update_modules(empties, true).unwrap();
    // a typed field only takes its own type
    let mut t = Transformer::new(
        1,
        1,
        &TransformerConfig {
            dims: 8,
            num_heads: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let wrong: Tree<Box<dyn Module>> = Tree::Dict(
        [(
            "encoder".to_string(),
            Tree::Dict(
                [("ln".to_string(), Tree::Leaf(lin(8, 8)))]
                    .into_iter()
                    .collect(),
            ),
        )]
        .into_iter()
        .collect(),
    );
    let e = t
        .update_modules(wrong, true)
        .err()
        .expect("an error")
        .to_string();
    assert!(e.contains("LayerNorm") && e.contains("Linear"), "{e}");
    let right: Tree<Box<dyn Module>> = Tree::Dict(
        [(
            "encoder".to_string(),
            Tree::Dict(
                [(
                    "ln".to_string(),
                    Tree::Leaf(
                        Box::new(LayerNorm::new(8, 1e-5, true, false).unwrap()) as Box<dyn Module>
                    ),
                )]
                .into_iter()
                .collect(),
            ),
        )]
        .into_iter()
        .collect(),
    );
    t.update_modules(right, true).unwrap();
    assert!(t.parameters().get("encoder.ln.bias").is_none());
}

#[test]
fn update_errors_and_partial_application() {
    let mut l = Linear::new(2, 3, true).unwrap();
    let t: Tree<Array> = Tree::Dict(
        [
            ("bias".to_string(), Tree::Leaf(arr(5))),
            ("nope".to_string(), Tree::Leaf(arr(1))),
        ]
        .into_iter()
        .collect(),
    );
    assert_eq!(
        l.update(&t, true).err().expect("an error").to_string(),
        "Module does not have parameter named \"nope\"."
    );
    // shapes are never checked and the entry before the error stays applied (items 30, 31)
    assert_eq!(l.bias.as_ref().unwrap().shape(), &[5]);
    l.update(&t, false).unwrap();
    let placeholder: Tree<Array> = Tree::Dict(
        [("weight".to_string(), Tree::empty())]
            .into_iter()
            .collect(),
    );
    assert_eq!(
        l.update(&placeholder, true)
            .err()
            .expect("an error")
            .to_string(),
        "Received invalid type: dict."
    );
    let top: Tree<Array> = Tree::Leaf(arr(1));
    assert_eq!(
        l.update(&top, true).err().expect("an error").to_string(),
        "Received invalid type: array."
    );
}

#[test]
fn apply_and_set_dtype_items_41_42() {
    let mut l = Linear::new(2, 3, true).unwrap();
    l.freeze("bias").unwrap();
    l.apply_trainable(|a| a.astype(Dtype::F16)).unwrap();
    assert_eq!(l.weight.dtype(), Dtype::F16);
    assert_eq!(l.bias.as_ref().unwrap().dtype(), Dtype::F32);
    l.set_dtype(Dtype::Bf16).unwrap();
    assert_eq!(l.weight.dtype(), Dtype::Bf16);
    assert_eq!(l.bias.as_ref().unwrap().dtype(), Dtype::Bf16);
    let mut c = Custom {
        members: vec![(
            "i".into(),
            CMember::Array(Array::from_slice(&[1i32, 2], &[2]).unwrap()),
        )],
        state: Default::default(),
    };
    c.set_dtype(Dtype::F16).unwrap();
    assert_eq!(
        c.parameters()
            .get("i")
            .and_then(Tree::as_leaf)
            .unwrap()
            .dtype(),
        Dtype::I32
    );
    c.set_dtype_if(Dtype::F32, |_| true).unwrap();
    assert_eq!(
        c.parameters()
            .get("i")
            .and_then(Tree::as_leaf)
            .unwrap()
            .dtype(),
        Dtype::F32
    );
}

#[test]
fn train_eval_item_60_62() {
    let mut s = Sequential::new(vec![lin(2, 2), Box::new(ReLU::new())]);
    assert!(s.training());
    s.eval();
    assert!(s.modules().iter().all(|m| !m.training()));
    s.layers.push(lin(2, 2));
    assert!(s.layers[2].training());
    s.train(true);
    assert!(s.modules().iter().all(|m| m.training()));
}

fn small_transformer() -> Transformer {
    Transformer::new(
        1,
        1,
        &TransformerConfig {
            dims: 8,
            num_heads: 2,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn transformer_idioms_item_59() {
    let mut t = small_transformer();
    t.freeze(Keys::All).unwrap().unfreeze("bias").unwrap();
    assert_eq!(keys(&t.trainable_parameters()).len(), 11);
    t.unfreeze(Keys::All).unwrap();
    t.freeze(Keys::All).unwrap();
    t.apply_to_modules(|k, m| {
        if k.ends_with("attention") {
            m.unfreeze(Keys::All)?;
        }
        Ok(())
    })
    .unwrap();
    let tr = keys(&t.trainable_parameters());
    assert_eq!(tr.len(), 12);
    assert!(tr.iter().all(|k| k.ends_with("_proj.weight")));
}

#[test]
fn default_transformer_item_28() {
    let t = Transformer::new(6, 6, &TransformerConfig::default()).unwrap();
    let n = names(&t);
    assert_eq!(n.len(), 191);
    assert_eq!(
        &n[..5],
        [
            "",
            "decoder",
            "decoder.ln",
            "decoder.layers.5",
            "decoder.layers.5.dropout3"
        ]
    );
    assert_eq!(tree_flatten(&t.parameters()).len(), 184);
    assert_eq!(t.num_parameters(), 44_103_680);
}

#[test]
fn freeze_paths_globs() {
    let mut t = small_transformer();
    t.freeze_paths(["encoder.layers.*.attention", "decoder.ln"])
        .unwrap();
    let tr = keys(&t.trainable_parameters());
    assert!(!tr
        .iter()
        .any(|k| k.starts_with("encoder.layers.0.attention.") || k.starts_with("decoder.ln.")));
    assert_eq!(tr.len(), keys(&t.parameters()).len() - 6);
    let e = t
        .freeze_paths(["encoder.nothing.*"])
        .err()
        .expect("an error")
        .to_string();
    assert!(e.contains("encoder.nothing.*"), "{e}");
    t.unfreeze_paths(["**.query_proj"]).unwrap();
    assert!(keys(&t.trainable_parameters())
        .contains(&"encoder.layers.0.attention.query_proj.weight".to_string()));
    // path freezing composes with key freezing
    t.unfreeze(Keys::All).unwrap();
    t.freeze(Keys::All)
        .unwrap()
        .unfreeze_paths(["decoder.layers.0.cross_attention"])
        .unwrap();
    let tr = keys(&t.trainable_parameters());
    assert_eq!(tr.len(), 4);
    assert!(tr
        .iter()
        .all(|k| k.starts_with("decoder.layers.0.cross_attention.")));
}

#[test]
fn repr_like_mlx() {
    let s = Sequential::new(vec![lin(2, 3), Box::new(ReLU::new())]);
    assert_eq!(
        s.to_string(),
        "Sequential(\n  (layers.0): Linear(input_dims=2, output_dims=3, bias=True)\n  (layers.1): ReLU()\n)"
    );
    let d: &dyn Module = &s;
    assert_eq!(format!("{d}"), s.to_string());
    let nested = Sequential::new(vec![Box::new(s)]);
    assert!(nested
        .to_string()
        .contains("\n    (layers.1): ReLU()\n  )\n)"));
}

#[test]
fn summary_counts() {
    let mut l = Linear::new(4, 4, true).unwrap();
    l.freeze("weight").unwrap();
    let s = l.summary();
    assert!(s.ends_with("trainable 20.00% — 4 of 20 parameters"), "{s}");
    assert!(s.contains("Linear"));
    let t = small_transformer();
    let s = t.summary();
    assert!(s.contains("encoder.layers.0.attention.query_proj"), "{s}");
    assert!(
        s.contains(&format!(
            "of {} parameters",
            rmlx_nn_thousands(t.num_parameters())
        )),
        "{s}"
    );
}

fn rmlx_nn_thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn load_weights_pairs_strict_and_lenient() {
    let mut l = Linear::new(8, 4, true).unwrap();
    let w = Array::from_vec(vec![0.5f32; 32], &[4, 8]).unwrap();
    let e = l
        .load_weights(vec![("weight", w.clone())], true)
        .err()
        .expect("an error")
        .to_string();
    assert_eq!(e, "Missing 1 parameters: \nbias.");
    let e = l
        .load_weights(
            vec![
                ("weight", w.clone()),
                ("bias", arr(4)),
                ("b2", arr(1)),
                ("a.b", arr(1)),
            ],
            true,
        )
        .err()
        .expect("an error")
        .to_string();
    assert_eq!(e, "Received 2 parameters not in model: \na.b,\nb2.");
    let e = l
        .load_weights(vec![("weight", w.clone()), ("bias", arr(5))], true)
        .err()
        .expect("an error")
        .to_string();
    assert_eq!(
        e,
        "Expected shape (4,) but received shape (5,) for parameter bias"
    );
    assert_eq!(l.bias.as_ref().unwrap().shape(), &[4]);
    l.load_weights(vec![("weight", w.clone()), ("bias", arr(4))], true)
        .unwrap();
    assert_eq!(l.weight.to_vec::<f32>().unwrap(), vec![0.5; 32]);
    // lenient: unknown names dropped, list indices beyond the length skipped (item 68)
    let mut s = Sequential::new(vec![lin(2, 2)]);
    s.load_weights(vec![("layers.1.weight", arr(2)), ("zzz", arr(1))], false)
        .unwrap();
    assert_eq!(s.layers.len(), 1);
}
