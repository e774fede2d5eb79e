print("KeepBatchNorm: not yet written")
