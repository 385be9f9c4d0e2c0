import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

/// `heteroscale doctor`'s checks (KubeClient.Doctor) against the emulator.
@Suite("Doctor against KubeEmulator")
struct DoctorAgainstEmulatorTests {
    @Test func reportsMissingThenInstalledCRDs() async throws {
        try await withEmulator { _, client in
            let before = try await Doctor.check(client)
            #expect(before.serverVersion == "v1.32.0")
            #expect(before.crds.allSatisfy { !$0.installed })
            #expect(!before.permissions.isEmpty)
            #expect(before.permissions.allSatisfy { $0.allowed == true })

            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      body: try YAML.load(crdManifest))
            let after = try await Doctor.check(client)
            #expect(after.crds.first { $0.name == "deploymentgroups" }?.installed == true)
            #expect(after.crds.first { $0.name == "podautoscalers" }?.installed == false)
        }
    }
}
