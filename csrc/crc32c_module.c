/* kafkapy.protocol.records._crc32c: CRC-32C of any buffer, the same contract as the crc32c
 * package's crc32c(data, value=0). kafkapy.protocol.records.crc uses it when it was built. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "crc32c.h"

/* below this size the GIL is kept: releasing it costs more than the checksum */
#define RELEASE_GIL_BYTES (256 * 1024)

static PyObject *crc32c(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "crc32c(data, value=0)");
        return NULL;
    }
    unsigned long value = 0;
    if (nargs == 2) {
        value = PyLong_AsUnsignedLongMask(args[1]);
        if (value == (unsigned long)-1 && PyErr_Occurred()) return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    uint32_t crc = ~(uint32_t)value;
    if (view.len >= RELEASE_GIL_BYTES) {
        Py_BEGIN_ALLOW_THREADS
        crc = kp_crc32c_update(crc, view.buf, (size_t)view.len);
        Py_END_ALLOW_THREADS
    } else {
        crc = kp_crc32c_update(crc, view.buf, (size_t)view.len);
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(~crc);
}

static PyObject *implementation(PyObject *self, PyObject *unused) {
    return PyUnicode_FromString(kp_crc32c_impl());
}

static PyObject *select_impl(PyObject *self, PyObject *arg) {
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name) return NULL;
    return PyBool_FromLong(kp_crc32c_select(name) == 0);
}

static PyMethodDef methods[] = {
    {"crc32c", (PyCFunction)(void (*)(void))crc32c, METH_FASTCALL,
     "crc32c(data, value=0) -> int: CRC-32C of data, continuing from value."},
    {"implementation", implementation, METH_NOARGS,
     "implementation() -> str: 'avx512-vpclmulqdq', 'sse4.2' or 'table'."},
    {"select", select_impl, METH_O,
     "select(name) -> bool: use that implementation from now on (tests); False if this CPU lacks it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "kafkapy.protocol.records._crc32c",
    "CRC-32C (Castagnoli) with the fastest instructions this CPU has.", -1, methods,
};

PyMODINIT_FUNC PyInit__crc32c(void) {
    kp_crc32c_init();
    return PyModule_Create(&module);
}
