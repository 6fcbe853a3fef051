"""The monthly bulletin (经济运行监测月报).

content (compose: every number and sentence, the archived snapshot) → layout (blocks) →
word / pdf (renderers) with figures (PNG); build puts them together; archive publishes a
version in one transaction; delivery emails it. The web page draws layout.blocks from the
archived snapshot.
"""
