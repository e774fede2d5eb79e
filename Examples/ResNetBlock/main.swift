print("ResNetBlock: not yet written")
