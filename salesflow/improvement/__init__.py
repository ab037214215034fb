"""DMAIC improvement projects (流程改进) with control plans (issue 11)."""
