"""Deployment: the exported artifact, the predictor that runs it, batch files and the HTTP app.

Nothing here imports Lightning or the training code on the predict path: an artifact is JSON
metadata plus an ONNX graph (or safetensors weights), loaded without pickle.
"""
