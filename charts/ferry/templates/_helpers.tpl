{{/* Shared names, labels and checks of the Ferry chart. */}}

{{/*
Object names are fixed, not prefixed with the release: sidecars find the controller as
ferry-controller.<namespace>.svc and expect its identity .../sa/ferry-controller, and the
cluster-scoped objects make one Ferry per cluster anyway.
*/}}
{{- define "ferry.controllerName" -}}ferry-controller{{- end }}
{{- define "ferry.webhookName" -}}ferry-webhook{{- end }}

{{- define "ferry.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end }}

{{- define "ferry.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: ferry
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ferry
{{- end }}

{{/* Selector labels of one component: (dict "ctx" $ "component" "controller"). */}}
{{- define "ferry.selectorLabels" -}}
app.kubernetes.io/name: ferry
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
ferry.io/component: {{ .component }}
{{- end }}

{{/* host:port of the controller's mTLS gRPC port (xDS and CA), as sidecars dial it. */}}
{{- define "ferry.controllerAddress" -}}
{{- printf "%s.%s.svc:15012" (include "ferry.controllerName" .) .Release.Namespace -}}
{{- end }}

{{/* The Kubernetes minor version for the injector: the value, else the cluster's ("29+" → 29). */}}
{{- define "ferry.kubernetesMinor" -}}
{{- $minor := toString .Values.webhook.kubernetesMinor -}}
{{- if eq $minor "" -}}{{- $minor = .Capabilities.KubeVersion.Minor | trimSuffix "+" -}}{{- end -}}
{{- if not (regexMatch "^[0-9]+$" $minor) -}}
{{- fail (printf "webhook.kubernetesMinor: %q is not a number (the x in 1.x)" $minor) -}}
{{- end -}}
{{- $minor -}}
{{- end }}

{{/* The mesh root certificate (PEM): ca.rootCert, else root-cert.pem of the CA Secret; may be empty. */}}
{{- define "ferry.rootCert" -}}
{{- if .Values.ca.rootCert -}}
{{- .Values.ca.rootCert -}}
{{- else -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace .Values.ca.existingSecret -}}
{{- if and $secret $secret.data (index $secret.data "root-cert.pem") -}}
{{- index $secret.data "root-cert.pem" | b64dec -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* The webhook's caBundle, base64: webhook.tls.caBundle (PEM or base64), else ca.crt of the TLS Secret; may be empty. */}}
{{- define "ferry.webhookCaBundle" -}}
{{- $bundle := .Values.webhook.tls.caBundle | default "" | trim -}}
{{- if $bundle -}}
{{- if hasPrefix "-----BEGIN" $bundle -}}{{- printf "%s\n" $bundle | b64enc -}}{{- else -}}{{- $bundle -}}{{- end -}}
{{- else -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace .Values.webhook.tls.secretName -}}
{{- if and $secret $secret.data (index $secret.data "ca.crt") -}}
{{- index $secret.data "ca.crt" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
Refuses values this controller and injector cannot apply yet, instead of silently ignoring them.
Included by the controller Deployment, so every install runs it.
*/}}
{{- define "ferry.validateValues" -}}
{{- if not (has .Values.meshConfig.mtls.mode (list "PERMISSIVE" "STRICT")) -}}
{{- fail (printf "meshConfig.mtls.mode: %q must be PERMISSIVE or STRICT" .Values.meshConfig.mtls.mode) -}}
{{- end -}}
{{- if ne .Values.meshConfig.outbound "passthrough" -}}
{{- fail (printf "meshConfig.outbound: %q is not supported yet: `ferry controller` has no flag for the outbound policy (only passthrough)." .Values.meshConfig.outbound) -}}
{{- end -}}
{{- $builtin := dict "requests" (dict "cpu" "50m" "memory" "64Mi") "limits" (dict "memory" "256Mi") -}}
{{- if ne (toJson .Values.meshConfig.proxy.resources) (toJson $builtin) -}}
{{- fail "meshConfig.proxy.resources: only the injector's built-in defaults are supported yet (`ferry webhook` has no flag for them); set ferry.io/proxy-cpu, ferry.io/proxy-memory, ferry.io/proxy-cpu-limit or ferry.io/proxy-memory-limit on pods instead." -}}
{{- end -}}
{{- if not (has .Values.webhook.failurePolicy (list "Fail" "Ignore")) -}}
{{- fail (printf "webhook.failurePolicy: %q must be Fail or Ignore" .Values.webhook.failurePolicy) -}}
{{- end -}}
{{- if not .Values.ca.existingSecret -}}
{{- fail "ca.existingSecret: required — the Secret with the issuing CA from `ferry certs intermediate` (see values.yaml)" -}}
{{- end -}}
{{- if not .Values.webhook.tls.secretName -}}
{{- fail "webhook.tls.secretName: required — the Secret that holds (or, with cert-manager, will hold) the webhook's certificate" -}}
{{- end -}}
{{- end }}
