"""What the chapters teach, as code: chapter 1's GPU-sharing simulation, chapter 2's OCI image layout,
chapter 3's event timeline, chapter 4a's placement, devices and
node failures, chapter 4b's tenancy, chapter 5's survey data.
Built on :mod:`whyk8s.k8s`; never starts or stops a cluster."""
