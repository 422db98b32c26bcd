//! jq, the dialect of jq 1.8.2, on the jaq interpreter with a compatibility layer.
