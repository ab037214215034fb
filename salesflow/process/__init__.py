"""Process metrics (流程分析, issue 11): time in stage, conversion, first-pass yield, rework,
throughput and WIP, bottlenecks, control charts."""
