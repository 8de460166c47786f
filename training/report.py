"""Write the validation report into ``reports/`` (markdown + PNGs), in one command.

    python -m classifier.report          # ≈ 10-15 min on 2 CPU cores (it trains the baselines and the budget curve)

Everything is measured on the random validation split of ``labels/labels.csv`` (never trained on):
the shipped weights, the distilled student (EER with a bootstrap 95% interval, accuracy, F1, ROC, DET,
confusion matrix, easiest and hardest examples), the seed report's baselines (k-means on pixels,
PCA + k-means), a linear probe on the self-supervised features, plain supervised training on the same labels,
the FixMatch teacher before distillation, the label-budget curve, and the speed benchmark of
``bench/bench_classifier.py`` for the student and the teacher.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import norm  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from classifier.data import REPO, decide, load_pool, pool_dir, read_labels, read_looks, validation_set  # noqa: E402
from classifier.distill import distill  # noqa: E402
from classifier.engine import export_arrays  # noqa: E402
from classifier.inference import load_model  # noqa: E402
from classifier.labelling import render_sheet  # noqa: E402
from classifier.metrics import accuracy_f1, eer, eer_interval, roc_points  # noqa: E402
from classifier.pretrain import embed  # noqa: E402
from classifier.select import BUDGETS  # noqa: E402
from classifier.train import fixmatch, predict, pretrained_encoder, split_pool, training_labels  # noqa: E402

REPORTS = REPO / "reports"
CURVE_BUDGETS = (*BUDGETS, 400)  # the selection's budgets, then the 200 uncertain picks of ``select --extend 400``
STUDENT_BUDGET = 50  # the default budget: the shipped pipeline is distilled there too, to compare
CURVE_SEEDS = (0, 1, 2)  # one FixMatch run per budget moved by a point between seeds: the curve averages three


def kmeans_scores(features: np.ndarray, train_rows: np.ndarray, train_y: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-means; the cluster holding more labelled open eyes is "open"; score = how much nearer its centre."""
    km = KMeans(2, n_init=10, random_state=seed).fit(features)
    open_cluster = int(np.mean(km.labels_[train_rows][train_y == 1]) > np.mean(km.labels_[train_rows][train_y == 0]))
    distances = km.transform(features)
    return distances[:, 1 - open_cluster] - distances[:, open_cluster]


def supervised_only(images: np.ndarray, y: np.ndarray, steps: int = 300, seed: int = 0) -> torch.nn.Module:
    """Plain supervised EyeNet from scratch on the labelled crops alone (with the same augmentations)."""
    import torch.nn.functional as F

    from classifier.augment import augment
    from classifier.model import EyeNet

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = EyeNet()
    optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    x, target = torch.from_numpy(images).unsqueeze(1), torch.from_numpy(y.astype(np.float32))
    net.train()
    for _ in range(steps):
        pick = torch.randint(0, len(x), (64,), generator=generator)
        loss = F.binary_cross_entropy_with_logits(net(augment(x[pick], 1.0, generator)), target[pick])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()


def label_consistency(val_names: list[str], y: np.ndarray, scores: np.ndarray) -> dict:
    """How often two blind looks at the same validation crop agree (``labels/looks.csv``), and the model on the
    crops where they agreed and on those a third look had to decide."""
    looks = read_looks()
    val = [r.file for r in read_labels() if r.split == "val"]
    both_usable = [n for n in val if "unusable" not in looks[n][:2]]
    position = {name: i for i, name in enumerate(val_names)}
    right = {n: bool((scores[position[n]] >= 0.5) == y[position[n]]) for n in val_names}
    settled = [n for n in val_names if looks[n][0] == looks[n][1]]
    decided = [n for n in val_names if looks[n][0] != looks[n][1]]  # usable in the end, by a later look
    sure = np.array([position[n] for n in settled])
    return {
        "looked_at": len(val),
        "both_usable": len(both_usable),
        "first_two_differ": sum(looks[n][0] != looks[n][1] for n in both_usable),
        "split_pairs": sum(looks[n][0] != looks[n][1] for n in val),  # open/closed/unusable in any mix
        "third_looks": sum(len(looks[n]) > 2 for n in val),
        "changed_by_later_looks": sum(decide(looks[n]) != looks[n][0] for n in val),
        "settled": len(settled),
        "model_right_settled": sum(right[n] for n in settled),
        "decided_by_third": len(decided),
        "model_right_decided": sum(right[n] for n in decided),
        # the EER on the crops the labeller is sure of: what the model does where the labels can measure it
        "eer_settled": eer(y[sure], scores[sure])[0],
    }


def benchmark(*args: str) -> dict:
    """``bench/bench_classifier.py``'s figures, from a fresh process: here torch's idle worker threads, warm from
    the trainings above, would slow NumPy down by 10-20%."""
    command = [sys.executable, str(REPO / "bench" / "bench_classifier.py"), "--json", *args]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def row(name: str, labels_used: str, y: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    accuracy, f1 = accuracy_f1(y, scores >= threshold)
    return {"method": name, "labels": labels_used, "eer": eer(y, scores)[0], "accuracy": accuracy, "f1": f1}


def plot_curves(y: np.ndarray, curves: dict[str, np.ndarray], out: Path) -> None:
    fig, (roc, det) = plt.subplots(1, 2, figsize=(11, 5))
    for name, scores in curves.items():
        fpr, tpr, _ = roc_points(y, scores)
        value = eer(y, scores)[0]
        roc.plot(fpr, tpr, label=f"{name} (EER {value:.1%})")
        clip = lambda v: np.clip(v, 1e-3, 1 - 1e-3)  # noqa: E731
        det.plot(norm.ppf(clip(fpr)), norm.ppf(clip(1 - tpr)), label=name)
    roc.plot([0, 1], [0, 1], "k:", lw=0.8)
    roc.set(xlabel="closed eyes accepted as open (FPR)", ylabel="open eyes accepted (TPR)", title="ROC")
    ticks = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999]  # the whole clipped range of the axes
    det.plot(norm.ppf([1e-3, 0.999]), norm.ppf([1e-3, 0.999]), "k:", lw=0.8)
    det.set_xticks(norm.ppf(ticks), [f"{t:.1%}" for t in ticks])
    det.set_yticks(norm.ppf(ticks), [f"{t:.1%}" for t in ticks])
    det.set(xlabel="false open (FPR)", ylabel="false closed (FNR)", title="DET (EER where it meets the dotted line)")
    roc.legend(fontsize=8, loc="lower right")
    det.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_budget(curve: dict[str, list[tuple[int, float]]], spread: dict[int, dict], out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in curve.items():
        ax.plot([b for b, _ in points], [100 * e for _, e in points], "o-", label=name)
    budgets = sorted(spread)
    low = [100 * min(spread[b]["eer"]) for b in budgets]
    high = [100 * max(spread[b]["eer"]) for b in budgets]
    ax.fill_between(budgets, low, high, alpha=0.2, label=f"teacher, range over {len(CURVE_SEEDS)} seeds")
    ax.set(xscale="log", xlabel="hand training labels", ylabel="validation EER, %", title="Label-budget curve")
    ax.set_xticks(CURVE_BUDGETS, [str(b) for b in CURVE_BUDGETS])
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-budget", action="store_true", help="skip the budget curve's trainings (quick look)")
    args = parser.parse_args()
    started = time.time()
    REPORTS.mkdir(exist_ok=True)
    names, images = load_pool()
    index = {name: i for i, name in enumerate(names)}
    val_names, val_images, y = validation_set(names, images)
    val_rows = np.array([index[n] for n in val_names])  # the same crops, as rows of pool-wide features
    all_labels = read_labels()
    unusable = {
        split: sum(r.label == "unusable" and r.split == split for r in all_labels) for split in ("val", "train")
    }

    # The shipped model.
    shipped = load_model().probabilities(val_images)
    value, threshold = eer(y, shipped)
    low, high = eer_interval(y, shipped)
    accuracy, f1 = accuracy_f1(y, shipped >= 0.5)
    predicted = shipped >= 0.5
    confusion = [[int(np.sum((y == a) & (predicted == b))) for b in (0, 1)] for a in (0, 1)]
    meta = load_model().meta
    budget = int(meta.get("budget", 50))

    consistency = label_consistency(val_names, y, shipped)

    # Baselines on the same labels.
    train_images, _ = split_pool(names, images)
    encoder = pretrained_encoder(train_images)
    labels = training_labels(budget)
    train_rows = np.array([index[n] for n in labels])
    train_y = np.array(list(labels.values()))
    flat = images.reshape(len(images), -1)
    features = embed(encoder, images)
    probe = LogisticRegression(C=1.0, max_iter=3000).fit(features[train_rows], train_y)
    teacher = fixmatch(encoder, images[train_rows], train_y, train_images, progress=False)  # as classifier.train
    baselines = {
        "k-means on pixels": kmeans_scores(flat, train_rows, train_y)[val_rows],
        "PCA(20) + k-means": kmeans_scores(PCA(20, random_state=0).fit_transform(flat), train_rows, train_y)[val_rows],
        "linear probe on SimCLR features": probe.predict_proba(features[val_rows])[:, 1],
        "supervised CNN, labels only": predict(supervised_only(images[train_rows], train_y), val_images),
    }
    table = [row(name, f"{len(labels)}", y, s, 0.0 if "k-means" in name else 0.5) for name, s in baselines.items()]
    for name in ("k-means on pixels", "PCA(20) + k-means"):  # the seed report's way: best mapping on the test set
        scores = baselines[name] if eer(y, baselines[name])[0] <= 0.5 else -baselines[name]
        table.append(row(f"{name}, clusters named on validation (as the seed did)", "—", y, scores, 0.0))
    teacher_scores = predict(teacher, val_images)
    teacher_eer = eer(y, teacher_scores)[0]
    table.append(
        row("SimCLR + FixMatch teacher (72k parameters, before distillation)", f"{len(labels)}", y, teacher_scores, 0.5)
    )
    table.append(row("**SimCLR + FixMatch, distilled student (shipped)**", f"{len(labels)}", y, shipped, 0.5))

    # Label-budget curve: the first k of the selection queue, same pipeline, the teacher over CURVE_SEEDS.
    curve: dict[str, list[tuple[int, float]]] = {"SimCLR + FixMatch teacher": [], "linear probe": []}
    spread: dict[int, dict] = {}  # per budget: the teacher's EER and accuracy for each seed
    for k in [] if args.skip_budget else CURVE_BUDGETS:
        subset = training_labels(k)
        rows = np.array([index[n] for n in subset])
        sub_y = np.array(list(subset.values()))
        nets = [
            teacher
            if (k, seed) == (budget, 0)
            else fixmatch(encoder, images[rows], sub_y, train_images, seed=seed, progress=False)
            for seed in CURVE_SEEDS
        ]
        runs = [teacher_scores if net is teacher else predict(net, val_images) for net in nets]
        spread[k] = {"eer": [eer(y, r)[0] for r in runs], "accuracy": [accuracy_f1(y, r >= 0.5)[0] for r in runs]}
        if k in (STUDENT_BUDGET, budget):  # the whole pipeline, distillation included, where the choice is made
            students = [
                shipped
                if net is teacher
                else predict(distill(net, train_images, seed=seed, progress=False), val_images)
                for seed, net in zip(CURVE_SEEDS, nets, strict=True)
            ]
            spread[k]["student_eer"] = [eer(y, r)[0] for r in students]
            spread[k]["student_accuracy"] = [accuracy_f1(y, r >= 0.5)[0] for r in students]
        curve["SimCLR + FixMatch teacher"].append((k, float(np.mean(spread[k]["eer"]))))
        lin = LogisticRegression(C=1.0, max_iter=3000).fit(features[rows], sub_y)
        curve["linear probe"].append((k, eer(y, lin.predict_proba(features[val_rows])[:, 1])[0]))
        print(f"budget {k}: teacher EER {curve['SimCLR + FixMatch teacher'][-1][1]:.2%} over seeds", flush=True)
    if curve["linear probe"]:
        plot_budget(curve, spread, REPORTS / "label_budget.png")

    plot_curves(y, {"shipped (student)": shipped, "teacher": teacher_scores, **baselines}, REPORTS / "roc_det.png")
    margin = np.abs(shipped - y)
    order = np.argsort(margin)
    for title, picks in (("easy", order[:32]), ("hard", order[::-1][:32])):
        render_sheet(
            [pool_dir() / val_names[i] for i in picks],
            REPORTS / f"{title}_examples.png",
            captions=[f"{'open' if y[i] else 'closed'} p={shipped[i]:.2f}" for i in picks],
        )

    speed = benchmark()
    with tempfile.TemporaryDirectory() as scratch:  # the teacher through the same NumPy engine, for comparison
        teacher_weights = Path(scratch) / "teacher.npz"
        np.savez(teacher_weights, **export_arrays(teacher, {}))
        teacher_speed = benchmark("--weights", str(teacher_weights))
    (REPORTS / "figures.json").write_text(
        json.dumps(
            {
                "eer": value,
                "eer_ci95": [low, high],
                "accuracy": accuracy,
                "f1": f1,
                "threshold_at_eer": threshold,
                "validation_images": len(y),
                "training_labels": len(labels),
                "unusable": unusable,
                "budget_curve": curve,
                "budget_spread": spread,
                "table": table,
                "speed": speed,
                "teacher_speed": teacher_speed,
                "label_consistency": consistency,
            },
            indent=2,
        )
    )
    write_markdown(locals())
    print(f"report written to {REPORTS / 'README.md'} in {time.time() - started:.0f}s")


def consistency_lines(c: dict) -> list[str]:
    differ, usable = c["first_two_differ"], c["both_usable"]
    return [
        f"Every one of the {c['looked_at']} validation crops was looked at twice, blind (`labels/looks.csv`: the "
        "second look came on shuffled sheets that showed no label, score or earlier decision). Of the "
        f"{usable} crops both looks call usable, the two disagree on {differ} ({differ / usable:.1%}). Each of the "
        f"{c['split_pairs']} crops whose first two looks differed in any way (open, closed or unusable) got a "
        f"further, deciding look ({c['third_looks']} crops have three or more looks, some from an earlier audit); "
        f"the label is the majority, and {c['changed_by_later_looks']} labels differ from the first look. Where the "
        f"first two looks agree the shipped model is right on {c['model_right_settled']} of {c['settled']} "
        f"({c['model_right_settled'] / c['settled']:.1%}), and its EER there is {c['eer_settled']:.2%}; on the "
        f"{c['decided_by_third']} usable crops a later look had to decide, it is right on {c['model_right_decided']}. "
        "A labeller who disagrees with themself on "
        f"{differ / usable:.0%} of crops cannot measure an EER far below that rate on the crops they disagree on.",
    ]


def spread_row(spread: dict[int, dict], title: str, key: str, cell=lambda runs: f"{np.mean(runs):.2%}") -> str:
    """One markdown row of the budget table: ``cell`` of each budget's runs under ``key``, blank where not run."""
    return f"| {title} | " + " | ".join(cell(runs[key]) if key in runs else "" for runs in spread.values()) + " |"


def pipeline_choice_lines(spread: dict[int, dict], budget: int) -> list[str]:
    """Why the shipped model uses ``budget`` labels: the shipped pipeline there against ``STUDENT_BUDGET``."""
    if "student_eer" not in spread.get(STUDENT_BUDGET, {}) or "student_eer" not in spread.get(budget, {}):
        return []
    few, chosen = spread[STUDENT_BUDGET], spread[budget]
    gain = np.mean(few["student_eer"]) - np.mean(chosen["student_eer"])
    return [
        "",
        f"The shipped pipeline (teacher, then distillation), seeds {', '.join(map(str, CURVE_SEEDS))}: "
        f"{np.mean(chosen['student_eer']):.2%} EER and {np.mean(chosen['student_accuracy']):.2%} accuracy with "
        f"{budget} labels, against {np.mean(few['student_eer']):.2%} and {np.mean(few['student_accuracy']):.2%} "
        f"with {STUDENT_BUDGET}: {100 * gain:.2f} points of EER. The issue allows more than {STUDENT_BUDGET} labels "
        f"when they buy at least 0.5 point of EER; {'they do' if gain >= 0.005 else 'they do not'} here.",
    ]


def write_markdown(v: dict) -> None:
    y, table, curve, speed, confusion = v["y"], v["table"], v["curve"], v["speed"], v["confusion"]
    teacher = v["teacher_speed"]
    lines = [
        "# Validation report",
        "",
        "Generated by `python -m classifier.report`; figures in `figures.json`.",
        "",
        f"Validation: {len(y)} hand-labelled crops drawn at random from the pool ({int(y.sum())} open, "
        f"{int(len(y) - y.sum())} closed; {v['unusable']['val']} more marked unusable and left out). "
        f"Training supervision: {v['budget']} images chosen by `classifier.select`, of which "
        f"{len(v['labels'])} usable hand labels, plus the unlabelled pool.",
        "",
        "## Shipped model",
        "",
        "A 23k-parameter student distilled from the 72k-parameter FixMatch teacher (`classifier.distill`): "
        "4x fewer multiply-adds, same accuracy within the interval.",
        "",
        f"- **EER {v['value']:.2%}** (95% bootstrap interval {v['low']:.2%} – {v['high']:.2%}), "
        f"threshold at the EER point p_open = {v['threshold']:.2f}",
        f"- accuracy {v['accuracy']:.2%}, F1 (open) {v['f1']:.3f} at the shipped threshold 0.5",
        "",
        "| true \\ predicted | closed | open |",
        "|---|---|---|",
        f"| closed | {confusion[0][0]} | {confusion[0][1]} |",
        f"| open | {confusion[1][0]} | {confusion[1][1]} |",
        "",
        "![ROC and DET](roc_det.png)",
        "",
        "## How consistent the labels are",
        "",
        *consistency_lines(v["consistency"]),
        "",
        "## Baselines (same validation set, same training labels)",
        "",
        "| method | hand labels | EER | accuracy | F1 |",
        "|---|---|---|---|---|",
        *[f"| {r['method']} | {r['labels']} | {r['eer']:.2%} | {r['accuracy']:.2%} | {r['f1']:.3f} |" for r in table],
        "",
        "k-means rows: the cluster with more labelled open eyes is called open; the score is the difference of the "
        "distances to the two centres.",
        "",
    ]
    if curve["linear probe"]:
        lines += [
            "## Label-budget curve",
            "",
            "| hand labels | " + " | ".join(str(k) for k, _ in curve["linear probe"]) + " |",
            "|---|" + "---|" * len(curve["linear probe"]),
            *[f"| {name} | " + " | ".join(f"{e:.2%}" for _, e in pts) + " |" for name, pts in curve.items()],
            spread_row(v["spread"], "teacher EER, range over seeds", "eer", lambda e: f"{min(e):.2%} – {max(e):.2%}"),
            spread_row(v["spread"], "teacher accuracy, mean over seeds", "accuracy"),
            spread_row(v["spread"], "distilled student (the shipped pipeline) EER, mean over seeds", "student_eer"),
            spread_row(v["spread"], "distilled student accuracy, mean over seeds", "student_accuracy"),
            "",
            f"The teacher's figures are means over FixMatch seeds {', '.join(map(str, CURVE_SEEDS))} (same pretrained "
            "encoder); the linear probe is deterministic.",
            *pipeline_choice_lines(v["spread"], v["budget"]),
            "",
            "![label budget](label_budget.png)",
            "",
        ]
    lines += [
        "## Speed (this machine, 2 CPU cores; `python bench/bench_classifier.py`)",
        "",
        "Both run on the same NumPy engine. Latency: one `openEyeCheck` call on a 24x24 pool file, warm. Batch: "
        "the model on the whole pool in memory, then `open_probabilities` on 8,000 files (read and decoded too).",
        "",
        "| model | parameters | weights | EER | warm latency | batch, in memory | batch, from files | "
        "cold start (new process) | `import torch` alone |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| distilled student (shipped) | {speed['parameters']:,} | {speed['weights_kib']:.0f} KiB | "
        f"{v['value']:.2%} | {speed['latency_ms']:.3f} ms | {speed['images_per_s']:,.0f} img/s | "
        f"{speed['files_per_s']:,.0f} files/s | {speed['cold_start_s']:.2f} s | {speed['import_torch_s']:.2f} s |",
        f"| FixMatch teacher | {teacher['parameters']:,} | {teacher['weights_kib']:.0f} KiB | "
        f"{v['teacher_eer']:.2%} | {teacher['latency_ms']:.3f} ms | {teacher['images_per_s']:,.0f} img/s | "
        f"{teacher['files_per_s']:,.0f} files/s | | |",
        "",
        "## Easy and hard examples",
        "",
        "Captions: hand label and the model's p_open. Easy = most confident and right; hard = furthest from "
        "the hand label (some of these are label noise at 24x24).",
        "",
        "![easy](easy_examples.png)",
        "",
        "![hard](hard_examples.png)",
        "",
    ]
    (REPORTS / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
