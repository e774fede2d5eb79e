print("LowerBatchNorm: not yet written")
