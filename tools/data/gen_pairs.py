"""Writes crates/rmlx/examples/data/pairs.tsv, the sentence-pair set of the `bitfit_bert` example:
`split<TAB>label<TAB>sentence a<TAB>sentence b`, label 1 when b says what a says (a synonym, the
passive voice, a moved time phrase) and 0 when b shares a's words but not its meaning (subject and
object swapped, a negation, another number, place or time). Deterministic (seed 0); standard
library only. Usage: python3 tools/data/gen_pairs.py
"""
import pathlib, random

SUBJECTS = ["the chef", "the teacher", "my neighbour", "the pilot", "the doctor", "a student",
            "the farmer", "the artist", "the manager", "our driver", "the nurse", "the child"]
# (past, synonym's past, base, synonym's base)
VERBS = [("visited", "called on", "visit", "call on"), ("helped", "assisted", "help", "assist"),
         ("thanked", "showed gratitude to", "thank", "show gratitude to"),
         ("watched", "observed", "watch", "observe"), ("followed", "went after", "follow", "go after"),
         ("photographed", "took a picture of", "photograph", "take a picture of"),
         ("interviewed", "questioned", "interview", "question"),
         ("welcomed", "greeted", "welcome", "greet"), ("ignored", "disregarded", "ignore", "disregard"),
         ("praised", "complimented", "praise", "compliment")]
PLACES = ["in Paris", "in London", "at the station", "at the market", "in the garden",
          "at the hospital", "in the library", "at the harbour"]
TIMES = ["yesterday", "on Monday", "last week", "this morning", "in the evening", "on Friday"]
NUMBERS = ["two", "three", "four", "five", "seven", "ten"]
THINGS = [("books", "novels"), ("apples", "apples"), ("letters", "letters"), ("photos", "pictures"),
          ("tickets", "tickets"), ("boxes", "crates")]


def sentence(rng):
    s, o = rng.sample(SUBJECTS, 2)
    return {"s": s, "o": o, "v": rng.randrange(len(VERBS)), "p": rng.choice(PLACES),
            "t": rng.choice(TIMES), "n": rng.choice(NUMBERS), "k": rng.randrange(len(THINGS))}


def say(d, syn=False, passive=False, time_first=False, neg=False):
    past, syn_past, inf, syn_inf = VERBS[d["v"]]
    verb, base = (syn_past, syn_inf) if syn else (past, inf)
    things = THINGS[d["k"]][1 if syn else 0]
    if passive:
        participle = {"showed gratitude to": "shown gratitude by", "went after": "gone after",
                      "took a picture of": "pictured"}.get(verb, verb)
        by = "" if participle.endswith(" by") else " by"
        core = f"{d['o']} was {'not ' if neg else ''}{participle}{by} {d['s']} {d['p']}"
    else:
        core = f"{d['s']} {'did not ' + base if neg else verb} {d['o']} {d['p']}"
    core += f" with {d['n']} {things}"
    text = f"{d['t']}, {core}" if time_first else f"{core} {d['t']}"
    return text[0].upper() + text[1:] + "."


def pair(rng, label):
    d = sentence(rng)
    a = say(d, time_first=rng.random() < 0.3)
    if label:
        kind = rng.choice(["syn", "passive", "time", "syn_passive"])
        b = say(d, syn="syn" in kind, passive="passive" in kind,
                time_first=(kind == "time") != a.startswith(d["t"].capitalize()))
    else:
        kind = rng.choice(["swap", "neg", "number", "place", "time"])
        e = dict(d)
        if kind == "swap":
            e["s"], e["o"] = d["o"], d["s"]
        elif kind == "number":
            e["n"] = rng.choice([n for n in NUMBERS if n != d["n"]])
        elif kind == "place":
            e["p"] = rng.choice([p for p in PLACES if p != d["p"]])
        elif kind == "time":
            e["t"] = rng.choice([t for t in TIMES if t != d["t"]])
        b = say(e, syn=rng.random() < 0.5, passive=rng.random() < 0.3, neg=kind == "neg",
                time_first=a.startswith(d["t"].capitalize()))
    return a, b


def main():
    rng = random.Random(0)
    rows = []
    for split, n in (("train", 640), ("test", 320)):
        for i in range(n):
            label = i % 2
            a, b = pair(rng, label)
            rows.append(f"{split}\t{label}\t{a}\t{b}")
    out = pathlib.Path(__file__).resolve().parents[2] / "crates/rmlx/examples/data/pairs.tsv"
    out.write_text("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} pairs to {out}")


if __name__ == "__main__":
    main()
