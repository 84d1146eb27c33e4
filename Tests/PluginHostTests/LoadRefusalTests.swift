// Every way a plugin can be refused at load time: the stable code, and a message naming the file.
import Foundation
import GatewayCore
import GatewayJSON
import Testing

@Suite struct LoadRefusalTests {
    private func refusal(_ file: String) throws -> PluginLoadError {
        let path = try Fixtures.path(file)
        guard case .failure(let error) = PluginInspector.inspect(path: path) else {
            Issue.record("\(file) was accepted")
            throw Fixtures.FixtureBuildError(description: "accepted")
        }
        #expect(error.message.contains(path), "message must name the file: \(error.message)")
        #expect(error.file == path)
        #expect(error.plugin == nil)
        return error
    }

    @Test func missingFile() throws {
        let path = try Fixtures.path("libdoes-not-exist.so")
        guard case .failure(let error) = PluginInspector.inspect(path: path) else {
            Issue.record("a missing file was accepted"); return
        }
        #expect(error.code == "plugin.file_missing")
        #expect(error.message.contains(path))
    }

    @Test func textFileIsNotASharedObject() throws {
        let error = try refusal("not_a_shared_object.so")
        #expect(error.code == "plugin.not_shared_object")
        // dlerror() text is part of the message (glibc says "invalid ELF header" / "file too short").
        #expect(error.message.contains("cannot be loaded as a shared object: "))
    }

    @Test func directoryIsNotASharedObject() throws {
        let directory = try Fixtures.directory()
        guard case .failure(let error) = PluginInspector.inspect(path: directory) else {
            Issue.record("a directory was accepted"); return
        }
        #expect(error.code == "plugin.not_shared_object")
        #expect(error.message.contains(directory))
    }

    @Test func missingEntrySymbol() throws {
        let error = try refusal("libno-entry.so")
        #expect(error.code == "plugin.entry_missing")
        #expect(error.message.contains("gateway_plugin_entry"))
    }

    @Test func entryReturningNull() throws {
        #expect(try refusal("libnull-descriptor.so").code == "plugin.invalid_descriptor")
    }

    @Test func nullName() throws {
        let error = try refusal("libnull-name.so")
        #expect(error.code == "plugin.invalid_descriptor")
        #expect(error.message.contains("NULL name"))
    }

    @Test func abiMajorMismatchNamesBothVersions() throws {
        let error = try refusal("libbad-major.so")
        #expect(error.code == "plugin.abi_major_mismatch")
        #expect(error.message.contains("ABI 2.4"), "the plugin's version: \(error.message)")
        #expect(error.message.contains("ABI 1.4"), "the host's version: \(error.message)")
    }

    @Test func descriptorTooSmall() throws {
        let error = try refusal("libtoo-small.so")
        #expect(error.code == "plugin.descriptor_too_small")
        #expect(error.message.contains("struct_size"))
    }

    @Test func descriptorTooSmallForTheVersionFields() throws {
        #expect(try refusal("libtiny.so").code == "plugin.descriptor_too_small")
    }

    @Test func declaredCapabilityWithoutHookNamesTheCapability() throws {
        let error = try refusal("libmissing-hook.so")
        #expect(error.code == "plugin.capability_hook_missing")
        #expect(error.message.contains("recipient_filter"))
        #expect(error.message.contains("on_filter"))
    }

    @Test func capabilityBitsOutsideVersion1_0() throws {
        let error = try refusal("libunknown-capability.so")
        #expect(error.code == "plugin.unknown_capability")
        #expect(error.message.contains("0x100"))
    }

    @Test func inspectReadsTheDescriptor() throws {
        let path = try Fixtures.path("libgood.so")
        let info = try PluginInspector.inspect(path: path).get()
        #expect(info.name == "fixture-good")
        #expect(info.version == "1.2.3")
        #expect(info.abiMajor == 1 && info.abiMinor == 4)
        #expect(info.capabilities == ["category_targets", "recipient_filter", "attachment_validation", "thumbnail"])
        #expect(info.categories == ["news", "chat"])
        #expect(info.buildSignature == "fixture built by PluginHostTests")
        #expect(info.path == path)
        #expect(info.entryName == nil)
        let none = try PluginInspector.inspect(path: try Fixtures.path("libgood-nocategories.so")).get()
        #expect(none.categories == nil)
    }

    /// Minor versions only append: a plugin built for ABI 1.0 (shorter descriptor, no
    /// on_filter_event) loads on this 1.2 host and its filter is asked for every recipient.
    @Test func aPluginBuiltForAnOlderMinorStillLoads() throws {
        let info = try PluginInspector.inspect(path: try Fixtures.path("libgood-v1_0.so")).get()
        #expect(info.abiMajor == 1 && info.abiMinor == 0)
        let host = PluginHost(logger: LogRecorder().logger)
        let chain = try host.makeChain([Fixtures.entry("old", "libgood-v1_0.so", [])], pluginDirectory: try Fixtures.directory(),
                                       baseDirectory: "/").get()
        let event = try JSON.parse(#"{"category":"news","message":"x"}"#)
        #expect(chain.hasRecipientFilters)
        #expect(!chain.filterPlan(for: event.view).isEmpty, "no on_filter_event: every recipient is asked")
    }

    @Test func createFailureCarriesThePluginsText() throws {
        let recorder = LogRecorder()
        let host = PluginHost(logger: recorder.logger)
        let entries = [Fixtures.entry("picky", "libgood.so", [("fail", .string("missing key 'token'"))])]
        guard case .failure(let errors) = host.makeChain(entries, pluginDirectory: try Fixtures.directory(), baseDirectory: "/") else {
            Issue.record("a failing create() was accepted"); return
        }
        try #require(errors.count == 1)
        #expect(errors[0].code == "plugin.create_failed")
        #expect(errors[0].plugin == "picky")
        #expect(errors[0].message.contains("missing key 'token'"))
        #expect(errors[0].message.contains(try Fixtures.path("libgood.so")))
    }

    @Test func allErrorsAreCollectedAndCreatedInstancesDestroyed() throws {
        let recorder = LogRecorder()
        let host = PluginHost(logger: recorder.logger)
        let entries = [
            Fixtures.entry("first", "libgood.so", [("tag", .string("first"))]),
            Fixtures.entry("major", "libbad-major.so"),
            Fixtures.entry("off", "libno-entry.so", enabled: false),  // disabled: never opened
            Fixtures.entry("gone", "libnope.so"),
            Fixtures.entry("first", "libgood.so", line: 42),
            Fixtures.entry("second", "libgood.so", [("tag", .string("second"))]),
        ]
        guard case .failure(let errors) = host.makeChain(entries, pluginDirectory: try Fixtures.directory(), baseDirectory: "/") else {
            Issue.record("a broken chain was accepted"); return
        }
        #expect(errors.map(\.code) == ["plugin.abi_major_mismatch", "plugin.file_missing", "plugin.duplicate_name"])
        #expect(errors.map(\.plugin) == ["major", "gone", "first"])
        #expect(errors[2].message.contains("line 42"))
        // The two instances created before the verdict were destroyed, newest first.
        #expect(recorder.messages == ["created first", "created second", "destroyed second", "destroyed first"])
    }

    @Test func libraryPathsResolve() throws {
        let directory = try Fixtures.directory()
        let recorder = LogRecorder()
        let host = PluginHost(logger: recorder.logger)
        let entries = [
            Fixtures.entry("bare", "libgood.so"),
            Fixtures.entry("conventional", "good"),  // → libgood.so
            Fixtures.entry("absolute", directory + "/libgood.so"),
            Fixtures.entry("relative", "host-fixtures-link-\(getpid())/libgood.so"),  // against baseDirectory
        ]
        let parent = (directory as NSString).deletingLastPathComponent
        let link = parent + "/host-fixtures-link-\(getpid())"
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: directory)
        defer { try? FileManager.default.removeItem(atPath: link) }
        let chain = try host.makeChain(entries, pluginDirectory: directory, baseDirectory: parent).get()
        #expect(chain.plugins.map(\.entryName) == ["bare", "conventional", "absolute", "relative"])
        // One shared object backs all four instances: the same real path.
        #expect(Set(chain.plugins.map(\.path)) == [directory + "/libgood.so"])
    }
}
