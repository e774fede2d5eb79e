import GraphFuse
