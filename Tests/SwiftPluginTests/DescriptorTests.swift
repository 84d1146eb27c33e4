// The descriptor each bundled Swift plugin exports: fields, ABI version, capability bits that
// come from the SDK's dynamic casts, and hook pointers that match them.
import CGatewayPlugin
import Testing

@Suite("Swift plugin descriptors")
struct DescriptorTests {
    static let expected: [(product: String, name: String, capabilities: Int)] = [
        ("CategoryTargets", "category-targets", GW_CAP_CATEGORY_TARGETS),
        ("MessageTypeFilter", "message-type-filter", GW_CAP_RECIPIENT_FILTER),
        ("AttachmentValidator", "attachment-validator", GW_CAP_ATTACHMENT_VALIDATION),
    ]

    @Test("descriptor fields and capabilities", arguments: [0, 1, 2])
    func descriptorFields(index: Int) throws {
        let expectation = Self.expected[index]
        let plugin = try PluginLibrary.load(expectation.product)
        let descriptor = plugin.descriptor.pointee
        #expect(descriptor.struct_size == MemoryLayout<gw_plugin_descriptor>.size)
        // GW_PLUGIN_DESCRIPTOR_V1_0_SIZE (an offsetof macro, not imported into Swift), computed the same way.
        let v1Size = MemoryLayout<gw_plugin_descriptor>.offset(of: \.on_thumbnail)! + MemoryLayout<UnsafeRawPointer>.size
        #expect(descriptor.struct_size >= v1Size)
        #expect(descriptor.abi_major == UInt32(GW_PLUGIN_ABI_MAJOR))
        #expect(descriptor.abi_minor == UInt32(GW_PLUGIN_ABI_MINOR))
        #expect(plugin.name == expectation.name)
        #expect(plugin.version == "1.0.0")
        #expect(plugin.capabilities == UInt64(expectation.capabilities))
        #expect(String(cString: try #require(descriptor.build_signature)).contains("Swift"))
        #expect(descriptor.create != nil && descriptor.destroy != nil)
        // A hook pointer is set exactly when its capability bit is.
        let caps = plugin.capabilities
        #expect((descriptor.on_targets != nil) == (caps & UInt64(GW_CAP_CATEGORY_TARGETS) != 0))
        #expect((descriptor.on_filter != nil) == (caps & UInt64(GW_CAP_RECIPIENT_FILTER) != 0))
        #expect((descriptor.on_validate_attachment != nil) == (caps & UInt64(GW_CAP_ATTACHMENT_VALIDATION) != 0))
        #expect((descriptor.on_thumbnail != nil) == (caps & UInt64(GW_CAP_THUMBNAIL) != 0))
        #expect(caps & ~UInt64(GW_CAP_ALL_V1_0) == 0)
        // The entry may be called again and must return the same static descriptor.
        #expect(plugin.entry() == plugin.descriptor)
    }

    @Test("category-targets declares every category") func categoriesList() throws {
        let plugin = try PluginLibrary.load("CategoryTargets")
        #expect(plugin.categories == ["*"])
        #expect(try PluginLibrary.load("MessageTypeFilter").categories == nil)
    }

    @Test("a config that is not an object is refused with a stable code") func configNotObject() throws {
        let plugin = try PluginLibrary.load("CategoryTargets")
        let message = try plugin.createError(#"["not", "a", "table"]"#, host: TestHost())
        #expect(message.hasPrefix("plugin.config_not_object:"))
    }
}
