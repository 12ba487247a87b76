"""Reports and audit packs: rendering, signing, verification."""
