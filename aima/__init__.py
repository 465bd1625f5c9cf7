"""Generated contract code; regenerate with scripts/gen_proto.py."""
