"""Gates for CI: baselines of known findings, and changed-only audits."""
