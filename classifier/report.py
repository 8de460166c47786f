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

from classifier.data import REPO, load_pool, pool_dir, read_audit, read_labels, validation_set  # noqa: E402
from classifier.engine import export_arrays  # noqa: E402
from classifier.inference import load_model  # noqa: E402
from classifier.labelling import render_sheet  # noqa: E402
from classifier.metrics import accuracy_f1, eer, eer_interval, roc_points  # noqa: E402
from classifier.pretrain import embed  # noqa: E402
from classifier.select import BUDGETS  # noqa: E402
from classifier.train import fixmatch, predict, pretrained_encoder, split_pool, training_labels  # noqa: E402

REPORTS = REPO / "reports"


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
    """The blind second look (``labels/audit.csv``) against the validation labels, and the model on both."""
    audit = read_audit()
    first = {r.file: r.label for r in read_labels() if r.split == "val"}
    position = {name: i for i, name in enumerate(val_names)}
    usable = [n for n in audit if n in position and audit[n] != "unusable"]  # usable in both looks
    agreed = [n for n in usable if audit[n] == first[n]]
    with_first = {n: bool((scores[position[n]] >= 0.5) == y[position[n]]) for n in usable}  # model = val label
    return {
        "audited": len(audit),
        "same_decision": sum(audit[n] == first[n] for n in audit),
        "usable_in_both": len(usable),
        "same_label": len(agreed),
        "model_right_where_both_agree": sum(with_first[n] for n in agreed),
        "model_sides_with_first_look": sum(with_first[n] for n in usable if n not in agreed),
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


def plot_budget(curve: dict[str, list[tuple[int, float]]], out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in curve.items():
        ax.plot([b for b, _ in points], [100 * e for _, e in points], "o-", label=name)
    ax.set(xscale="log", xlabel="hand training labels", ylabel="validation EER, %", title="Label-budget curve")
    ax.set_xticks(BUDGETS, [str(b) for b in BUDGETS])
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

    # Label-budget curve: the first k of the selection queue, same pipeline.
    curve: dict[str, list[tuple[int, float]]] = {"SimCLR + FixMatch teacher": [], "linear probe": []}
    for k in [] if args.skip_budget else BUDGETS:
        subset = training_labels(k)
        rows = np.array([index[n] for n in subset])
        sub_y = np.array(list(subset.values()))
        net = teacher if k == budget else fixmatch(encoder, images[rows], sub_y, train_images, progress=False)
        curve["SimCLR + FixMatch teacher"].append((k, eer(y, predict(net, val_images))[0]))
        lin = LogisticRegression(C=1.0, max_iter=3000).fit(features[rows], sub_y)
        curve["linear probe"].append((k, eer(y, lin.predict_proba(features[val_rows])[:, 1])[0]))
        print(f"budget {k}: {curve['SimCLR + FixMatch teacher'][-1][1]:.2%}", flush=True)
    if curve["linear probe"]:
        plot_budget(curve, REPORTS / "label_budget.png")

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
    if not c["audited"]:
        return ["No second look recorded (`labels/audit.csv`)."]
    differ = c["usable_in_both"] - c["same_label"]
    return [
        f"A blind second look at {c['audited']} validation crops drawn at random (`labels/audit.csv`: no label, "
        f"score or earlier decision shown) gave the same decision for {c['same_decision']}. Of the "
        f"{c['usable_in_both']} crops both looks call usable, the two looks disagree on {differ} "
        f"({differ / c['usable_in_both']:.1%}): against labels this consistent, an EER far below that rate cannot "
        f"be measured. Where both looks agree, the shipped model is right on {c['model_right_where_both_agree']} "
        f"of {c['same_label']}; where they disagree, it sides with the validation label on "
        f"{c['model_sides_with_first_look']} of {differ}.",
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
