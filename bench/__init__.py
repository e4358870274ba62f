"""agentdeck's own benchmarks: the workloads of BENCH.md, one module each."""
