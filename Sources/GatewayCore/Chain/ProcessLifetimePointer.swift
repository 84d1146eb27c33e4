/// A pointer to C memory that is filled in once, before any other thread can see it, and is then
/// only read until the process exits (never written again, never freed): a plugin's static
/// descriptor (plugins are never dlclose()d), the host-services table.
// @unchecked: the pointee is read-only once published and outlives every reader (see above).
struct ProcessLifetimePointer<Pointee>: @unchecked Sendable {
    let pointer: UnsafePointer<Pointee>

    init(_ pointer: UnsafePointer<Pointee>) { self.pointer = pointer }
}
