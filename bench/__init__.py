"""Speed and memory benchmarks, printed as ratios against named peers measured in the same run."""
