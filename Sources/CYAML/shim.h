#ifndef HETEROSCALE_CYAML_SHIM_H
#define HETEROSCALE_CYAML_SHIM_H
#include <yaml.h>
#endif
