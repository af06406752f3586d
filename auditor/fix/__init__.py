"""`ca-audit fix`: findings → a minimal, reviewable metadata patch; never a deployment.

A rule's `patch` section says the fix in model-field terms (`patches.py`); the writer maps field
edits to elements of each kind of app's files, inserted in the Metadata API schema order
(`writer.py`, `schema.py`), as byte-level splices that keep everything else (`xmltext.py`); the
plan audits the patched bytes again through the real sources and pipeline and tells, per app,
what the patch clears and what remains (`plan.py`); `render.py` prints it and `docs.py` lists the
patchable rules (docs/fix.md).
"""
