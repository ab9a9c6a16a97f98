{{/* Names, labels and checks shared by the templates. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "kro.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object name: fullnameOverride, else the release name,
followed by the chart name unless the release name already contains it.
*/}}
{{- define "kro.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "kro.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The labels that select the operator's pods. */}}
{{- define "kro.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kro.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The labels of every object. */}}
{{- define "kro.labels" -}}
{{ include "kro.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: kro
{{- if .Values.helmLabels }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- with .Values.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "kro.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "kro.fullname" .) }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: by digest when one is given, else by tag. */}}
{{- define "kro.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The port of a bind address such as ":8078" or "127.0.0.1:8078", or "" for
"0" (off). Fails on anything else, as the operator would at startup.
Call with (list "value name" address).
*/}}
{{- define "kro.port" -}}
{{- $name := index . 0 }}
{{- $address := toString (index . 1) }}
{{- if ne $address "0" }}
{{- if not (regexMatch "^.*:[0-9]+$" $address) }}
{{- fail (printf "%s must be host:port, :port or 0, got %q" $name $address) }}
{{- end }}
{{- regexFind "[0-9]+$" $address }}
{{- end }}
{{- end }}

{{/* The namespace of the leader-election Lease. */}}
{{- define "kro.leaseNamespace" -}}
{{- .Values.config.leaderElectionNamespace | default .Release.Namespace }}
{{- end }}

{{/* Refuses values that cannot work together. */}}
{{- define "kro.checks" -}}
{{- if not (has .Values.rbac.mode (list "unrestricted" "aggregation")) }}
{{- fail (printf "rbac.mode must be unrestricted or aggregation, got %q" .Values.rbac.mode) }}
{{- end }}
{{- if not (has .Values.config.logFormat (list "text" "json")) }}
{{- fail (printf "config.logFormat must be text or json, got %q" .Values.config.logFormat) }}
{{- end }}
{{- if and .Values.metrics.service.create (not (include "kro.port" (list "config.metricsBindAddress" .Values.config.metricsBindAddress))) }}
{{- fail "metrics.service.create needs config.metricsBindAddress to be on (not 0)" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.service.create) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.service.create" }}
{{- end }}
{{- if and (gt (int .Values.deployment.replicaCount) 1) (not .Values.config.enableLeaderElection) }}
{{- fail "deployment.replicaCount above 1 needs config.enableLeaderElection: replicas would act at once" }}
{{- end }}
{{- end }}
