// The few POSIX file operations the store needs, with errors turned into StoreError.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FileSystem {
    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// mkdir -p: creates `path` and any missing parents.
    static func createDirectories(_ path: String) throws(StoreError) {
        guard !path.isEmpty else { return }
        var partial = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            partial += partial.isEmpty || partial.hasSuffix("/") ? String(component) : "/" + component
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                throw .openFailed("cannot create folder \(partial): \(errorText())")
            }
        }
        guard isDirectory(path) else { throw .openFailed("\(path) exists but is not a folder") }
    }

    static func createParentDirectories(of filePath: String) throws(StoreError) {
        guard let slash = filePath.lastIndex(of: "/") else { return }
        try createDirectories(String(filePath[..<slash]))
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func fileSize(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }

    static func remove(_ path: String) { unlink(path) }

    /// Names in a folder, without "." and "..". Empty when the folder cannot be read.
    static func contents(of directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
