/* SwiftPM wants a source file in a C target; the header is the whole point of this one. */
#include "sandboxer_plugin.h"
