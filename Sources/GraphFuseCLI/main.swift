import GraphFuse
print("graphfuse")
