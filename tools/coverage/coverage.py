#!/usr/bin/env python3
"""MLX's public names (`mlx_names.json`, from `mlx_names.py`) against rmlx's public items.

    python3 tools/coverage/coverage.py [--no-doc] [--write]

Builds rmlx's API documentation (`cargo doc --no-deps --workspace`; `--no-doc` reuses
`target/doc`) and reads from it every public item (`all.html` of each crate, macro-generated
items included) and the methods of `Array`, of the `Module`/`ModuleExt` traits and of the
`Optimizer` trait, and the operator traits `Array` implements. Each MLX name is then:

- **present**: an item the rules below find, or the one `map.txt` names;
- **n/a**: `map.txt` marks it `-` with a reason (GPU-only, Python-only);
- **missing**: nothing found (`map.txt` may give the reason).

Default rules, by category: `mlx.core.X` is `rmlx_core::X` (or `X_`); the `fast`, `linalg`,
`fft` and `random` submodules are `rmlx_core::<sub>::X`; `distributed` is `rmlx_distributed::X`;
(the ops, transforms and io are found in the modules that define them); `nn.layers`, `nn.losses`, `nn.init` and the nn extras are an item named `X` anywhere in `rmlx_nn`;
`optimizers` anywhere in `rmlx_optimizers`; `utils` in `rmlx_core::tree`; methods by name on
their Rust type. `map.txt` (`category | MLX name | rmlx item, or - | note`) overrides them where
the Rust spelling differs. Prints the per-category table; `--write` also writes `COVERAGE.md`
and the summary table in `README.md` (between the `coverage` markers).
"""
import html
import json
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(ROOT, "target", "doc")
CRATES = ["rmlx_core", "rmlx_nn", "rmlx_optimizers", "rmlx_distributed", "rmlx_models"]


def build_docs():
    subprocess.run(["cargo", "doc", "--no-deps", "--workspace", "-q"], cwd=ROOT, check=True)


def items():
    """Every public item as `crate::path::name`, with its documentation page."""
    out = {}
    for c in CRATES:
        path = os.path.join(DOC, c, "all.html")
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r'<a href="([^"]+)">([^<]+)</a>', text):
            out[f"{c}::{html.unescape(m.group(2))}"] = os.path.join(c, m.group(1))
    return out


def page_members(page):
    """The members (methods, variants, fields, associated items) documented on one page."""
    path = os.path.join(DOC, page)
    if not os.path.exists(path):
        return set()
    text = open(path, encoding="utf-8").read()
    return set(re.findall(
        r'id="(?:tymethod|method|variant|structfield|associatedconstant|associatedtype)\.([A-Za-z0-9_]+)"', text))


def members(crate, page):
    """Method names and implemented traits on one type's or trait's page."""
    path = os.path.join(DOC, crate, page)
    if not os.path.exists(path):
        return set(), set()
    text = open(path, encoding="utf-8").read()
    methods = set(re.findall(r'id="(?:ty)?method\.([A-Za-z0-9_]+)"', text))
    traits = set(re.findall(r'id="impl-([A-Za-z0-9]+)(?:%3C|<|-for|")', text))
    return methods, traits


def load_map():
    m = {}
    for line in open(os.path.join(HERE, "map.txt"), encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        while len(parts) < 4:
            parts.append("")
        cat, name, target, note = parts[:4]
        m[(cat, name)] = (target, note)
    return m


def main():
    args = sys.argv[1:]
    if "--no-doc" not in args:
        build_docs()
    names = json.load(open(os.path.join(HERE, "mlx_names.json")))
    all_items = items()
    by_last = {}
    for it in all_items:
        by_last.setdefault(it.split("::")[-1], set()).add(it)
    array_methods, array_traits = members("rmlx_core", "array/struct.Array.html")
    module_methods = set()
    for page in ("module/trait.Module.html", "module/trait.ModuleExt.html"):
        module_methods |= members("rmlx_nn", page)[0]
    optimizer_methods = members("rmlx_optimizers", "optimizer/trait.Optimizer.html")[0]
    mapping = load_map()

    def exists(target):
        """`target` is an item path, `Array::m`, `Module::m`, `Optimizer::m` or `impl Trait`."""
        if target.startswith("impl "):
            return target[5:] in array_traits
        if target.startswith("Array::"):
            return target[7:] in array_methods
        if target.startswith("Module::"):
            return target[8:] in module_methods
        if target.startswith("Optimizer::"):
            return target[11:] in optimizer_methods
        if resolve(target):
            return True
        # a member of a documented type or trait: `crate::path::Type::member`
        parent, _, member = target.rpartition("::")
        page = resolve(parent)
        return bool(page) and member in page_members(all_items[page])

    def resolve(target):
        """The documented item `target` names: the path itself, or (re-exports are documented
        where they are defined) an item of the same crate whose path ends with the rest of it."""
        if target in all_items:
            return target
        crate, _, rest = target.partition("::")
        hits = sorted(i for i in by_last.get(target.split("::")[-1], ())
                      if i.startswith(crate + "::") and i.endswith("::" + rest))
        return hits[0] if hits else None

    def default(cat, n):
        """The item the default rules find for MLX name `n`, or None."""
        def under(prefix, name):
            hits = sorted(i for i in by_last.get(name, ()) if i.startswith(prefix))
            return hits[0] if hits else None
        if cat == "mlx.core":
            # the ops are re-exported at the crate root from rmlx_core::ops::<group>
            for cand in (f"rmlx_core::{n}", f"rmlx_core::{n}_", f"rmlx_core::ops::{n}",
                         f"rmlx_core::ops::{n}_"):
                if cand in all_items:
                    return cand
            for name in (n, n + "_"):
                # the ops and transforms are re-exported at the crate root; io keeps its module
                root = r"rmlx_core::(?:ops::[a-z_]+|transforms|graph|device|io(?:::[a-z_]+)?)::"
                hits = sorted(i for i in by_last.get(name, ())
                              if re.fullmatch(root + re.escape(name), i)
                              and "::fast::" not in i)
                if hits:
                    return hits[0]
            return None
        sub = {"mlx.core.fast": "fast", "mlx.core.linalg": "linalg", "mlx.core.fft": "fft",
               "mlx.core.random": "random"}
        if cat in sub:
            return resolve(f"rmlx_core::{sub[cat]}::{n}")
        if cat == "mlx.core.distributed":
            return under("rmlx_distributed::", n)
        if cat in ("mlx.nn.layers", "mlx.nn extras", "mlx.nn.losses", "mlx.nn.init"):
            return under("rmlx_nn::", n)
        if cat == "mlx.optimizers":
            return under("rmlx_optimizers::", n)
        if cat == "mlx.utils":
            return under("rmlx_core::tree", n)
        if cat == "mlx.nn.Module methods":
            return f"Module::{n}" if n in module_methods else None
        if cat == "mlx.optimizers.Optimizer methods":
            return f"Optimizer::{n}" if n in optimizer_methods else None
        if cat == "mlx.core.array methods":
            return f"Array::{n}" if n in array_methods else None
        return None

    rows, used = [], set()
    for cat, ns in names["categories"].items():
        for n in ns:
            found, note, status = None, "", "missing"
            if (cat, n) in mapping:
                used.add((cat, n))
                target, note = mapping[(cat, n)]
                if target == "-":
                    status = "n/a"
                else:
                    for t in (t.strip() for t in target.split(" or ")):
                        if t and exists(t):
                            found = t
                            break
                    if target and not found and not note:
                        note = f"map names {target}, which rmlx does not have"
            else:
                found = default(cat, n)
            if found:
                status = "present"
            rows.append((cat, n, status, found or "", note))
    stale = sorted(set(mapping) - used)

    cats = list(names["categories"])
    summary = []
    for cat in cats:
        r = [x for x in rows if x[0] == cat]
        p = sum(x[2] == "present" for x in r)
        na = sum(x[2] == "n/a" for x in r)
        summary.append((cat, len(r), p, na, len(r) - p - na))
    tot = [sum(s[i] for s in summary) for i in (1, 2, 3, 4)]
    table = ["| category | MLX names | present | n/a | missing |", "|---|---:|---:|---:|---:|"]
    table += [f"| {c} | {t} | {p} | {na} | {m} |" for c, t, p, na, m in summary]
    counted = tot[0] - tot[2]
    table.append(f"| **all** | **{tot[0]}** | **{tot[1]}** | **{tot[2]}** | **{tot[3]}** |")
    share = f"{100.0 * tot[1] / tot[0]:.1f} % of MLX {names['mlx_version']}'s {tot[0]} public names present; {100.0 * tot[1] / counted:.1f} % of the {counted} that apply to a CPU library"
    print("\n".join(table))
    print(share)
    if stale:
        print("map.txt entries for names MLX does not have:", stale)
    if "--write" in args:
        lines = ["# rmlx against MLX's public API", "",
                 "Generated by `python3 tools/coverage/coverage.py --write` from `tools/coverage/mlx_names.json`",
                 f"(MLX {names['mlx_version']}'s names) and rmlx's API documentation; `tools/coverage/map.txt` names the",
                 "rmlx item where the Rust spelling differs and the reason where a name does not apply.", "",
                 share + ".", ""] + table + [""]
        for cat in cats:
            lines += [f"## {cat}", "", "| MLX | status | rmlx | note |", "|---|---|---|---|"]
            for c, n, st, f, note in rows:
                if c == cat:
                    lines.append(f"| `{n}` | {st} | {('`' + f + '`') if f else ''} | {note} |")
            lines.append("")
        open(os.path.join(ROOT, "COVERAGE.md"), "w").write("\n".join(lines))
        readme = os.path.join(ROOT, "README.md")
        text = open(readme, encoding="utf-8").read()
        # the names that are not present, grouped by their reason
        reasons = {}
        for c, n, st, f, note in rows:
            if st != "present":
                reasons.setdefault(note or "no reason recorded", []).append(f"`{n}`")
        absent = ["", "Not present, and why:", ""]
        absent += [f"- {r}: {', '.join(ns)}" for r, ns in sorted(reasons.items(), key=lambda kv: kv[0])]
        block = ("<!-- coverage:begin -->\n" + share + ".\n\n" + "\n".join(table) + "\n"
                 + "\n".join(absent) + "\n<!-- coverage:end -->")
        text, k = re.subn(r"<!-- coverage:begin -->.*?<!-- coverage:end -->", block, text, flags=re.S)
        if k == 1:
            open(readme, "w", encoding="utf-8").write(text)
        else:
            print("README.md has no coverage markers; COVERAGE.md written only")


if __name__ == "__main__":
    main()
