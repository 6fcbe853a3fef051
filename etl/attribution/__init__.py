"""归集口径: mapping versions (price item → category), 表5 rolled up under the version in
force (`rollup`), and the simulation of a new mapping against stored returns."""
