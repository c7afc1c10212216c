// Package wasmbin reads and writes the parts of the WebAssembly binary format
// that Verdict handles itself: the header, the list of sections, LEB128
// numbers and names. It decodes no instructions and validates nothing
// beyond the encoding; wazero does that. abi's seal walks a module's
// sections with it, and host/internal/meter decodes and rewrites code on
// top of its Reader.
package wasmbin
