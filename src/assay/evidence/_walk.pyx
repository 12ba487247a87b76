# cython: language_level=3
"""Compiled value walk for `assay.evidence.records.canonical`.

`prepare` follows the same rules as `records._prepare_python`: it returns a
value that orjson writes in its RFC 8785 form, with integral floats turned
into ints, and raises `Fallback` for anything orjson would write otherwise.
`Fallback` is always safe, because the caller then uses the `rfc8785`
package, so a check here may be stricter than the Python walk but never
looser. The property tests compare both walks with `rfc8785` byte for byte.

The walk runs no Python code: it accepts only the exact built-in types,
and the garbage collector is off while it runs, so no finaliser can change
the value under it. That keeps the borrowed references of the dict and
sequence iteration below valid, and the value orjson then encodes the one
this walk checked.
"""

from cpython.dict cimport PyDict_Copy, PyDict_Next
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_FromDouble
from cpython.ref cimport PyObject
from cpython.sequence cimport PySequence_Fast_GET_ITEM, PySequence_Fast_GET_SIZE
from cpython.unicode cimport PyUnicode_4BYTE_KIND, PyUnicode_KIND
from libc.math cimport fabs, floor


cdef extern from "Python.h":
    # Both return whether the collector was enabled before the call.
    int PyGC_Enable()
    int PyGC_Disable()

# ±(2**53 - 1): the integers a double holds exactly.
cdef long long MAX_SAFE = 9007199254740991
cdef double MAX_SAFE_FLOAT = 9007199254740991.0
# The bound of records._PLAIN_REPR_MIN: from here up to 2**53, orjson and
# RFC 8785 write a float as the same plain decimal.
cdef double PLAIN_REPR_MIN = 1e-4
# Values nested deeper go to the reference canonicaliser, which bounds the C
# stack this walk uses. orjson itself stops at 255 levels.
cdef int MAX_DEPTH = 250


class Fallback(Exception):
    """The value needs the reference canonicaliser."""


cdef int _check_int(object item) except -1:
    cdef int overflow = 0
    cdef long long number = PyLong_AsLongLongAndOverflow(item, &overflow)
    if overflow or number > MAX_SAFE or number < -MAX_SAFE:
        raise Fallback
    return 0


cdef object _float(object item):
    cdef double number = PyFloat_AS_DOUBLE(item)
    cdef double magnitude = fabs(number)
    # NaN and the infinities fail the first test.
    if magnitude <= MAX_SAFE_FLOAT:
        if number == floor(number):
            return PyLong_FromDouble(number)
        if magnitude >= PLAIN_REPR_MIN:
            return item
    raise Fallback


cdef object _value(object item, int depth):
    # Returns `item` itself when orjson already writes it canonically.
    cdef type kind = type(item)
    if kind is str or kind is bool or item is None:
        return item
    if kind is int:
        _check_int(item)
        return item
    if kind is float:
        return _float(item)
    if kind is dict:
        return _dict(item, depth + 1)
    if kind is list or kind is tuple:
        return _sequence(item, depth + 1)
    raise Fallback


cdef object _dict(object value, int depth):
    if depth > MAX_DEPTH:
        raise Fallback
    cdef object prepared = None
    cdef Py_ssize_t position = 0
    cdef PyObject* key_pointer
    cdef PyObject* item_pointer
    cdef object key, item, new
    while PyDict_Next(value, &position, &key_pointer, &item_pointer):
        key = <object>key_pointer
        # Python sorts keys by code point and RFC 8785 by UTF-16 code unit;
        # the two orders differ only for keys holding characters beyond
        # U+FFFF, which are exactly the keys stored four bytes a character.
        if type(key) is not str or PyUnicode_KIND(key) == PyUnicode_4BYTE_KIND:
            raise Fallback
        item = <object>item_pointer
        if type(item) is str:
            continue
        new = _value(item, depth)
        if new is not item:
            if prepared is None:
                prepared = PyDict_Copy(value)
            prepared[key] = new
    return value if prepared is None else prepared


cdef object _sequence(object value, int depth):
    # `value` is a list or a tuple; a changed one comes back as a list.
    if depth > MAX_DEPTH:
        raise Fallback
    cdef object prepared = None
    cdef Py_ssize_t index = 0
    cdef object item, new
    # The size is read again on every step, in case the list shrinks while
    # it is walked (which the collector being off should rule out).
    while index < PySequence_Fast_GET_SIZE(value):
        item = <object>PySequence_Fast_GET_ITEM(value, index)
        index += 1
        if type(item) is str:
            continue
        new = _value(item, depth)
        if new is not item:
            if prepared is None:
                prepared = list(value)
            prepared[index - 1] = new
    return value if prepared is None else prepared


def prepare(value):
    """Return `value` in the form orjson writes as RFC 8785, or raise Fallback."""
    cdef int collecting = PyGC_Disable()
    try:
        return _value(value, 0)
    finally:
        if collecting:
            PyGC_Enable()
