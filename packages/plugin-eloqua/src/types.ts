/**
 * Wire types of Eloqua's Bulk API 2.0 as far as contact imports use them. Field names are copied
 * from Oracle's documentation and OpenAPI file (see /work/shared/vendor-apis.md, Part A); optional
 * members are the ones Oracle's examples sometimes leave out.
 */

/** `GET https://login.eloqua.com/id` (A.1.3). Bad credentials may instead give the JSON string `"Not authenticated."`. */
export interface IdResponse {
  readonly site?: { readonly id?: number; readonly name?: string };
  readonly user?: { readonly id?: number; readonly username?: string };
  readonly urls?: {
    /** The pod, e.g. `https://secure.p03.eloqua.com`; the Bulk API is under `/api/bulk/2.0`. */
    readonly base?: string;
    readonly apis?: { readonly rest?: { readonly bulk?: string } };
  };
}

/** Envelope of every collection GET (A.2). `totalResults` is left out when `totalResults=false`. */
export interface Collection<T> {
  readonly items?: readonly T[];
  readonly totalResults?: number;
  readonly limit?: number;
  readonly offset?: number;
  readonly count?: number;
  readonly hasMore?: boolean;
}

/** Bulk `DataType` enum. */
export type BulkDataType = 'number' | 'string' | 'boolean' | 'date' | 'emailAddress';

/** `GET /contacts/fields` item (A.3.1). */
export interface ContactField {
  readonly name: string;
  readonly internalName: string;
  readonly dataType: BulkDataType;
  readonly hasReadOnlyConstraint?: boolean;
  readonly hasNotNullConstraint?: boolean;
  readonly hasUniquenessConstraint?: boolean;
  readonly statement: string;
  readonly uri: string;
}

/** `syncActions[]` entry (A.3.10); this plugin only uses list add/remove. */
export interface SyncAction {
  readonly action: 'add' | 'remove';
  /** `{{ContactList[123]}}`. */
  readonly destination: string;
}

export type UpdateRule = 'always' | 'ifNewIsNotNull' | 'ifExistingIsNull';

/** `POST /contacts/imports` body (`ContactImportIndividual`, A.3.2). */
export interface ImportDefinitionRequest {
  readonly name: string;
  /** Column name → field statement. */
  readonly fields: Readonly<Record<string, string>>;
  readonly identifierFieldName: string;
  readonly isSyncTriggeredOnImport: false;
  readonly isUpdatingMultipleMatchedRecords: false;
  readonly dataRetentionDuration: string;
  readonly autoDeleteDuration: string;
  readonly updateRule: UpdateRule;
  readonly syncActions?: readonly SyncAction[];
}

/** A definition as the API returns it. */
export interface ImportDefinition {
  readonly name: string;
  readonly uri: string;
  readonly fields?: Readonly<Record<string, string>>;
  readonly identifierFieldName?: string;
  readonly syncActions?: readonly SyncAction[];
  readonly createdAt?: string;
  readonly updatedAt?: string;
}

/** `SyncStatusType` (A.3.6); Oracle's prose says "errored", the API says `error`. */
export type SyncStatus = 'pending' | 'active' | 'success' | 'warning' | 'error';

/** `POST /syncs` response and `GET /syncs/{id}` (A.3.5, A.3.6). */
export interface Sync {
  readonly uri: string;
  readonly syncedInstanceUri?: string;
  readonly status: SyncStatus;
  readonly callbackUrl?: string;
  readonly createdAt?: string;
  readonly syncStartedAt?: string;
  readonly syncEndedAt?: string;
}

/** `GET /syncs/{id}/rejects` item (A.3.7). `recordIndex` is 1-based over data rows. */
export interface SyncReject {
  readonly fieldValues?: Readonly<Record<string, string>>;
  readonly message?: string;
  readonly statusCode?: string;
  readonly recordIndex?: number;
  readonly invalidFields?: readonly string[];
}

/** `GET /syncs/{id}/logs` item (A.3.8). */
export interface SyncLog {
  readonly count?: number;
  readonly severity?: 'information' | 'warning' | 'error';
  readonly statusCode?: string;
  readonly message?: string;
  readonly syncUri?: string;
}

/** One entry of a Bulk API 400 body `{"failures":[...]}` (A.5). */
export interface ValidationFailure {
  readonly field?: string;
  readonly value?: string;
  readonly constraint?: string;
}
