"""Diagnosis of OAuth token flows: preflight checklists and the token-error explainer."""
