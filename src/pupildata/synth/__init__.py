"""A synthetic England: realistic data returns with ground truth, from one school to the whole country.

``generate(config, out)`` writes each academic year's returns in each sender's format, and the truth of every
record, into ``out`` (the layout is described in ``pupildata.synth.generate``). No real pupil data is used.
"""

from pupildata.synth.config import Scale, SynthConfig, make_config
from pupildata.synth.generate import Manifest, generate

__all__ = ["Manifest", "Scale", "SynthConfig", "generate", "make_config"]
