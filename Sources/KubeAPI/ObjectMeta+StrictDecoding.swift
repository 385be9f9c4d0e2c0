import YAML

/// Strict decoding of manifests read from files (`replay`, `simulate`): every field of Kubernetes'
/// `metav1.ObjectMeta` is valid there, also those HeteroScale does not read (as of Kubernetes 1.28,
/// `k8s.io/apimachinery/pkg/apis/meta/v1/types.go`; `clusterName` was removed in 1.25). A key that is not an
/// ObjectMeta field (`metadata.lables`) is an error, as kube-apiserver's strict field validation makes it.
extension ObjectMeta: StrictDecodingIgnoredKeys {
    public static let ignoredKeys = ["selfLink", "deletionGracePeriodSeconds", "managedFields"]
}
