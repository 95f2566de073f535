"""The control plane's members: municipalities, their lifecycle, profile and usage."""
