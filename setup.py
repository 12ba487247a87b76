"""Build step for the one compiled module; everything else is in pyproject.toml.

`assay.evidence._walk` speeds up canonical JSON. It is optional: where it
cannot be compiled (no C compiler, or Cython missing from a build without
isolation), the install goes on and assay uses the same walk in pure
Python.
"""

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:
    ext_modules = []
else:
    ext_modules = cythonize(
        [Extension("assay.evidence._walk", ["src/assay/evidence/_walk.pyx"], optional=True)],
        compiler_directives={"language_level": 3},
    )

setup(ext_modules=ext_modules)
