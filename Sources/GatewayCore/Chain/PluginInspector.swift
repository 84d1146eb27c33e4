// `gateway plugin inspect PATH`: open a plugin and read its descriptor without creating an instance.

public enum PluginInspector {
    /// Opens and validates the shared object at `path` (relative to the current directory).
    public static func inspect(path: String) -> Result<PluginInfo, PluginLoadError> {
        // dlopen() searches the library path for a name without a slash; we mean this file.
        let openable = path.contains("/") ? path : "./" + path
        return PluginLibraryLoader.load(path: openable, entryName: nil).map(\.info)
    }
}
