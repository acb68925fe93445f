#include "clocalvm.h"
