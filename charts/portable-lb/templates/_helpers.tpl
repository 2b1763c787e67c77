{{/* Names and labels shared by every template. */}}

{{- define "portable-lb.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped name; a release already called portable-lb* is not repeated ("portable-lb-portable-lb"). */}}
{{- define "portable-lb.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "portable-lb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "portable-lb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "portable-lb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "portable-lb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: portable-lb
{{- end }}

{{- define "portable-lb.serviceAccountName" -}}
{{- default (include "portable-lb.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "portable-lb.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The agent runs from the operator's image unless told otherwise: one build, two entrypoints. */}}
{{- define "portable-lb.agentImage" -}}
{{- $repo := default .Values.image.repository .Values.agent.image.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.agent.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}
