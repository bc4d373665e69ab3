"""One module per pipeline; each holds a BaseTransformer subclass named in transformations.yaml."""
