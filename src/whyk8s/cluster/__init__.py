"""The course cluster's machinery: the node layout, the kind and kwok providers, the control-plane
build, the doctor's checks. Lessons never import the providers."""
