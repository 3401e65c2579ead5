// Boost.JSON in header-only mode: Debian ships no libboost_json for 1.81, so its sources are
// compiled once here, in the only module that speaks JSON to a peer.
#include <boost/json/src.hpp>
