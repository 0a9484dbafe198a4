"""lcwbench: a benchmark and reproducibility harness for autoencoder-based and non-adversarial
generative models (LCW / CW2 / CWAE / Latent Trick, LMGAE, GLO / GLDO, Geng et al.)."""

__version__ = "0.1.0"
