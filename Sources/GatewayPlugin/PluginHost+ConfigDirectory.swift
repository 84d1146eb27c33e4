// ABI 1.4: the folder of the gateway.conf that created this instance, so relative paths in a
// plugin's config (schema files, stores) mean what the operator wrote next to that file.
import CGatewayPlugin

extension PluginHost {
    /// The absolute folder of the config file whose [[plugins]] entry created this instance;
    /// nil on a gateway older than ABI 1.4.
    public var configDirectory: String? {
        guard covers(\.config_directory), let directory = services.pointee.config_directory,
              let path = directory(context) else { return nil }
        return String(cString: path)
    }

    /// `path` resolved the way the gateway resolves its own config paths: an absolute path stays;
    /// a relative one starts at `configDirectory` (at the working directory on an older host).
    public func resolvePath(_ path: String) -> String {
        guard !path.hasPrefix("/"), let base = configDirectory else { return path }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }

    /// Whether the host's table is long enough to hold `field` (a later-minor field is read only
    /// then: an older host's table ends before it).
    func covers<Field>(_ field: KeyPath<gw_host_services, Field>) -> Bool {
        guard let offset = MemoryLayout<gw_host_services>.offset(of: field) else { return false }
        return services.pointee.struct_size >= offset + MemoryLayout<Field>.size
    }
}
