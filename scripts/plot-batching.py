#!/usr/bin/env python3
"""Draws chapter 4's plot, producer throughput against records per batch.

The numbers are text kept in the repo, benches/RESULTS-batching-throughput.csv,
and the picture is drawn from them by the book's build (scripts/check-book.sh
runs this script with no arguments), so the SVG is never committed and cannot
drift from its numbers. A new bench run replaces the numbers:

    cargo bench --bench batching                       # writes target/criterion/batching/
    python3 scripts/plot-batching.py --from-criterion  # rewrites the CSV, then draws
    python3 scripts/plot-batching.py                   # draws from the CSV (the build)

Only the standard library: the SVG is written by hand. For each batch size N,
criterion's `new/benchmark.json` gives the records per iteration and
`new/estimates.json` the time per iteration (mean, with its 95% confidence
interval); records/s is one over the other. The x axis is logarithmic, the y
axis linear, so the plateau is as visible as the climb.
"""

import argparse
import csv
import datetime
import json
import math
import os
import sys

BATCH_RECORDS = [1, 10, 100, 1000, 10000]
WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 90, 30, 50, 60


DATA = "benches/RESULTS-batching-throughput.csv"
COLUMNS = ["records_per_batch", "records_per_s_mean", "records_per_s_low", "records_per_s_high"]


def load(criterion_dir):
    """Returns [(n, records/s mean, records/s low, records/s high)]."""
    points = []
    for n in BATCH_RECORDS:
        base = os.path.join(criterion_dir, "batching", "batch_size", str(n), "new")
        try:
            with open(os.path.join(base, "benchmark.json")) as f:
                records = json.load(f)["throughput"]["Elements"]
            with open(os.path.join(base, "estimates.json")) as f:
                mean = json.load(f)["mean"]
        except FileNotFoundError:
            sys.exit(f"no criterion results in {base}: run `cargo bench --bench batching` first")
        ns = mean["point_estimate"]
        low_ns = mean["confidence_interval"]["lower_bound"]
        high_ns = mean["confidence_interval"]["upper_bound"]
        # A longer time is a lower rate: the interval's bounds swap.
        points.append((n, records / ns * 1e9, records / high_ns * 1e9, records / low_ns * 1e9))
    return points


def write_data(points, path):
    """Saves the points as CSV, after comment lines saying where they came from."""
    with open(path, "w", newline="") as f:
        f.write(f"# chapter 4's plot: `cargo bench --bench batching`, then\n")
        f.write(f"# `python3 scripts/plot-batching.py --from-criterion` on {datetime.date.today()}.\n")
        f.write("# records/s: criterion's mean, with its 95% confidence interval.\n")
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS)
        for n, r, low, high in points:
            out.writerow([n, round(r), round(low), round(high)])


def load_data(path):
    """Reads the points back: [(n, records/s mean, low, high)], one per BATCH_RECORDS."""
    with open(path) as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    points = [tuple(float(row[c]) for c in COLUMNS) for row in rows]
    if [int(p[0]) for p in points] != BATCH_RECORDS:
        sys.exit(f"{path}: expected one row per batch size {BATCH_RECORDS}")
    if any(not (low <= r <= high) or low <= 0 for _, r, low, high in points):
        sys.exit(f"{path}: each mean must lie in its interval, above 0")
    return [(int(n), r, low, high) for n, r, low, high in points]


def nice_step(top):
    """A round tick step giving 4 to 8 ticks up to `top`."""
    magnitude = 10 ** math.floor(math.log10(top))
    for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5):
        if top / (step * magnitude) <= 8:
            return step * magnitude
    return 10 * magnitude


def fmt_rate(r):
    return f"{r / 1e6:.2f} M" if r >= 1e6 else f"{r / 1e3:.0f} k"


def svg(points):
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y_top = max(p[3] for p in points) * 1.15
    step = nice_step(y_top)
    y_top = math.ceil(y_top / step) * step
    x_max = math.log10(BATCH_RECORDS[-1])

    def x(n):
        return LEFT + plot_w * math.log10(n) / x_max

    def y(r):
        return TOP + plot_h * (1 - r / y_top)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="15">'
        "spool producer throughput against records per batch</text>",
    ]
    # Grid and y ticks.
    tick = 0.0
    while tick <= y_top + 1e-9:
        ty = y(tick)
        out.append(f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{WIDTH - RIGHT}" y2="{ty:.1f}" stroke="#ddd"/>')
        label = "0" if tick == 0 else fmt_rate(tick)
        out.append(f'<text x="{LEFT - 8}" y="{ty + 4:.1f}" text-anchor="end">{label}</text>')
        tick += step
    # X ticks, one per measured batch size.
    for n in BATCH_RECORDS:
        tx = x(n)
        out.append(f'<line x1="{tx:.1f}" y1="{TOP}" x2="{tx:.1f}" y2="{HEIGHT - BOTTOM}" stroke="#eee"/>')
        out.append(f'<text x="{tx:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{n:,}</text>')
    # Axes and their titles.
    out.append(
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="black"/>'
    )
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="black"/>')
    out.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 15}" text-anchor="middle">'
        "records per batch (log scale; one batch per Produce request)</text>"
    )
    out.append(
        f'<text transform="translate(22 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">'
        "records acknowledged per second</text>"
    )
    # The line, the 95% intervals, the points and their labels.
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(n):.1f},{y(r):.1f}" for i, (n, r, _, _) in enumerate(points))
    out.append(f'<path d="{path}" fill="none" stroke="#1f6fb2" stroke-width="2"/>')
    base = points[0][1]
    for n, r, low, high in points:
        px = x(n)
        out.append(f'<line x1="{px:.1f}" y1="{y(low):.1f}" x2="{px:.1f}" y2="{y(high):.1f}" stroke="#1f6fb2"/>')
        out.append(f'<circle cx="{px:.1f}" cy="{y(r):.1f}" r="4" fill="#1f6fb2"/>')
        # Below and to the right of each point, clear of the rising line; the
        # first above it (below is the axis), the last above and to the left.
        if n == BATCH_RECORDS[-1]:
            lx, ly, anchor = px - 8, y(high) - 8, "end"
        elif n == BATCH_RECORDS[0]:
            # Above the point: below it is the x axis.
            lx, ly, anchor = px + 6, y(high) - 12, "start"
        else:
            lx, ly, anchor = px + 8, y(low) + 16, "start"
        out.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">{fmt_rate(r)}/s ({r / base:.1f}x)</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--from-criterion", action="store_true", help="rewrite the CSV from criterion's results first"
    )
    parser.add_argument("--criterion-dir", default="target/criterion")
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--out", default="book/src/img/batching-throughput.svg")
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    args = parser.parse_args()
    if args.from_criterion:
        write_data(load(args.criterion_dir), args.data)
    points = load_data(args.data)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(svg(points))
    if args.quiet:
        return
    for n, r, low, high in points:
        print(f"batch of {n:>6} records: {r:>12,.0f} records/s (95% CI {low:,.0f} .. {high:,.0f})")
    print(f"wrote {args.out} from {args.data}")


if __name__ == "__main__":
    main()
