"""Reduced-precision lab: number formats, quantization-aware training, mixed precision, Monte
Carlo arithmetic (``formats``, ``qat``, ``mixed``, ``mca``)."""
