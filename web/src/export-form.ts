/**
 * The "New export" form: the datasets the caller may export, the chosen one's filters and
 * columns, the file's format, zone and name, and the request they make.
 */
import type { DatasetDescription } from './api.js';
import { ColumnPicker } from './column-picker.js';
import { type ExportBody, timeZones } from './exporter.js';
import { ParamsForm } from './params-form.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export class ExportForm {
  private readonly datasetSelect = byId<HTMLSelectElement>('dataset');
  private readonly description = byId<HTMLElement>('dataset-description');
  private readonly paramsFieldset = byId<HTMLFieldSetElement>('params-fieldset');
  private readonly columnsFieldset = byId<HTMLFieldSetElement>('columns-fieldset');
  private readonly columnsError = byId<HTMLElement>('columns-error');
  private readonly format = byId<HTMLSelectElement>('format');
  private readonly timezone = byId<HTMLSelectElement>('timezone');
  private readonly filename = byId<HTMLInputElement>('filename');
  private readonly backgroundBox = byId<HTMLInputElement>('background');
  private readonly params = new ParamsForm(byId('params'));
  private readonly columns = new ColumnPicker(byId('columns'));
  private datasets: DatasetDescription[] = [];
  /** The browser's own time zone: the form's choice until the user picks another. */
  private readonly ownZone: string;

  constructor() {
    const { zones, own } = timeZones();
    this.ownZone = own;
    this.timezone.replaceChildren(
      ...zones.map((zone) => {
        const option = document.createElement('option');
        option.value = zone;
        option.textContent = zone.replaceAll('_', ' ');
        return option;
      }),
    );
    this.timezone.value = own;
    this.datasetSelect.addEventListener('change', () => this.select(this.datasetSelect.value));
  }

  /** Fills the form with the caller's datasets, the first one chosen. */
  load(datasets: DatasetDescription[]): void {
    this.datasets = datasets;
    this.datasetSelect.replaceChildren(
      ...datasets.map((d) => {
        const option = document.createElement('option');
        option.value = d.name;
        option.textContent = d.title;
        return option;
      }),
    );
    this.description.textContent = datasets.length === 0 ? 'There is nothing you may export yet.' : '';
    if (datasets[0]) this.select(datasets[0].name);
  }

  /** Forgets the user's datasets and what they typed or chose (a sign-out). */
  clear(): void {
    this.load([]);
    this.format.selectedIndex = 0;
    this.timezone.value = this.ownZone;
    this.description.textContent = '';
    this.params.render([]);
    this.columns.render([]);
    this.paramsFieldset.hidden = true;
    this.columnsFieldset.hidden = true;
    this.filename.value = '';
    this.filename.placeholder = '';
    this.backgroundBox.checked = false;
    this.columnsError.hidden = true;
  }

  get background(): boolean {
    return this.backgroundBox.checked;
  }

  /**
   * The request, or what needs correcting first: that field is marked and focused, and the
   * problem is a sentence for the page to announce (focus alone says nothing when it is
   * already on the field).
   */
  read(): { body: ExportBody } | { problem: string } {
    this.params.clearErrors();
    this.columnsError.hidden = true;
    const problem = this.params.checkInputs();
    if (problem) return { problem };
    if (!this.columns.hasSelection()) {
      this.columnsError.textContent = 'Pick at least one column.';
      this.columnsError.hidden = false;
      byId<HTMLInputElement>('column-0').focus();
      return { problem: 'Columns: pick at least one column.' };
    }
    const values = this.params.values();
    const picked = this.columns.selected();
    const filename = this.filename.value.trim();
    return {
      body: {
        dataset: this.datasetSelect.value,
        format: this.format.value,
        ...(Object.keys(values).length > 0 ? { params: values } : {}),
        ...(picked ? { columns: picked } : {}),
        timezone: this.timezone.value,
        ...(filename ? { filename } : {}),
      },
    };
  }

  /** The label of the chosen dataset's parameter `param`; undefined when it has none. */
  paramLabel(param: string): string | undefined {
    return this.params.label(param);
  }

  /** The API's `invalid_params` message beside the field it names. */
  showParamError(param: string, message: string): void {
    this.params.showError(param, message);
  }

  private select(name: string): void {
    const dataset = this.datasets.find((d) => d.name === name);
    if (!dataset) return;
    this.description.textContent = dataset.description ?? '';
    this.params.render(dataset.params);
    this.paramsFieldset.hidden = this.params.empty;
    byId('required-note').hidden = !dataset.params.some((p) => p.required);
    this.columns.render(dataset.columns ?? []);
    this.columnsFieldset.hidden = this.columns.empty;
    this.columnsError.hidden = true;
    // The name the server gives when none is asked for: the dataset and the UTC time to the second.
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    this.filename.placeholder = `${dataset.name}-${stamp}`;
  }
}
